#pragma once
// Threading contract: pure functions; any thread.
//
// The bits of JSON text written by hand: a quoted, escaped string (span lines, tracer.h; log
// lines, log.h; the gateway's error bodies and page tokens, services/gateway/status_mapping.h)
// and an RFC 3339 UTC time with microseconds. Not the gateway's message codec
// (services/gateway/json_codec_wire.cc), which must match protobuf's escaping byte for byte.

#include <cstdint>
#include <string>
#include <string_view>

namespace percore::observe {

// Appends `text` as a JSON string, quotes included: \" \\ \n \r \t, \u00XX for the other control
// characters, every other byte as it is.
void AppendJsonString(std::string_view text, std::string* out);
// "2026-12-02T10:55:01.123456Z"
std::string Rfc3339Micros(int64_t unix_nanos);

}  // namespace percore::observe
