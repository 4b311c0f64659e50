#pragma once
// Threading contract: pure functions of their arguments; any thread.
//
// W3C `tracestate` (https://www.w3.org/TR/trace-context/#tracestate-header): a list of up to 32
// `key=value` members, vendors' opaque data that travels with `traceparent`. percore keeps it
// and passes it on; it adds no member of its own. A received value is cleaned, never echoed
// blindly: members whose key or value breaks the grammar are dropped, as are repeats of a key
// (the first one stays) and members past the 32nd, and members are dropped from the end until
// the list fits in 512 characters. What is left is joined with "," (no spaces).

#include <memory>
#include <string>
#include <string_view>

namespace percore::observe {

inline constexpr size_t kTracestateMaxMembers = 32;
inline constexpr size_t kTracestateMaxChars = 512;

// `value` cleaned as above ("" when no member is valid).
std::string SanitizeTracestate(std::string_view value);

// The cleaned list shared by the contexts of a trace (nullptr when empty), so that carrying it
// with every task costs a pointer copy.
std::shared_ptr<const std::string> TracestateFrom(std::string_view value);

}  // namespace percore::observe
