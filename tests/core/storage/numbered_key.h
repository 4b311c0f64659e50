#pragma once
// Threading contract: a pure function; any thread may call it.
//
// Keys for the storage tests: many distinct, reproducible keys with a readable prefix.

#include <cstdint>
#include <string>
#include <string_view>

namespace percore::storage {

// prefix followed by n in decimal. Built by appending, which also sidesteps GCC 12's false
// -Wrestrict on `"literal" + std::to_string(n)` at -O3.
inline std::string Numbered(std::string_view prefix, uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

}  // namespace percore::storage
