#pragma once
// Threading contract: not thread-safe; UserStore calls it under its exclusive lock, which also
// makes id order equal insertion order.
//
// Time-ordered ids in the canonical UUIDv7 text form (RFC 9562; lowercase 8-4-4-4-12 hex, the
// same 36 bytes percore's ids take on the wire): 48 bits of Unix milliseconds, a 12-bit counter
// within the millisecond (method 1), 62 random bits. Ids never repeat or go backwards, even if
// the clock does, so ascending id order is creation order.

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace percore::baseline {

class UuidV7Generator {
 public:
  UuidV7Generator();

  std::string Next(std::chrono::system_clock::time_point now);

 private:
  uint64_t last_ms_ = 0;
  uint32_t counter_ = 0;
  std::mt19937_64 random_;
};

}  // namespace percore::baseline
