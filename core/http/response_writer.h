#pragma once
// Threading contract: a pure function; any thread (the server's io thread calls it).
//
// An answer's bytes on the wire, written into one string instead of through Beast's message and
// serializer (a response object allocated per answer, its fields list, and buffer-sequence
// views that cost more than the rest of a small GET's HTTP work). The bytes are the ones Beast
// writes for the same answer (http_session.h's WriteWithBeast: status line with Beast's reason
// text, Server, Content-Type, the extra headers in order, Connection as keep-alive asks,
// Content-Length (on every status, as Beast 1.74 does); a HEAD's answer without its body);
// tests/core/http/response_writer_test.cc holds the two equal.

#include <string>

#include "core/http/http_server.h"

namespace percore::http::internal {

// Appends the answer to `out` (HTTP version 10 or 11, as Beast numbers it); false, with `out`
// untouched, for what it leaves to Beast: an extra header that Beast's own fields would merge
// with (Server, Content-Type, Connection, Content-Length, Transfer-Encoding, or one named twice),
// or a body on 1xx, 204 or 304.
bool AppendResponse(const Response& r, unsigned version, bool keep_alive, bool head,
                    std::string& out);

}  // namespace percore::http::internal
