#pragma once
// Threading contract: stateless.
//
// A transparent hash for std::string keys, so unordered containers can be searched with a
// std::string_view without building a std::string (an allocation per lookup on the request path
// for keys past the small-string size). Use with std::equal_to<>.

#include <functional>
#include <string_view>

namespace percore {

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

}  // namespace percore
