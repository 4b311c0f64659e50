#pragma once
// Threading contract: pure functions; any thread.
//
// The bits of JSON text that the span lines (tracer.h) and the log lines (log.h) write by hand:
// a quoted, escaped string and an RFC 3339 UTC time with microseconds.

#include <cstdint>
#include <string>
#include <string_view>

namespace percore::observe {

// Appends `text` as a JSON string ("...", with \" \\ and \u00XX for control characters).
void AppendJsonString(std::string_view text, std::string* out);
// "2026-12-02T10:55:01.123456Z"
std::string Rfc3339Micros(int64_t unix_nanos);

}  // namespace percore::observe
