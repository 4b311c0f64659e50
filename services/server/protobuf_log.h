#pragma once
// Threading contract: InstallProtobufLogHandler() once from main() before any thread starts;
// the handler itself runs on whichever thread protobuf logs from (shards parsing requests) and
// takes no lock: atomics only.
//
// protobuf writes one ERROR line per request with invalid UTF-8 in a string field (221 bytes
// each, no rate limit): a client could fill the disk or drown real errors. Its log goes through
// here instead: at most `max_lines_per_second` lines a second, then one line saying how many
// were dropped.

namespace percore::server {

void InstallProtobufLogHandler(int max_lines_per_second = 10);

}  // namespace percore::server
