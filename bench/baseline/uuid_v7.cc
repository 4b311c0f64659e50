#include "bench/baseline/uuid_v7.h"

#include <array>

namespace percore::baseline {
namespace {

constexpr uint32_t kCounterMax = 0xfff;

}  // namespace

UuidV7Generator::UuidV7Generator() : random_(std::random_device{}()) {}

std::string UuidV7Generator::Next(std::chrono::system_clock::time_point now) {
  auto ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  if (ms > last_ms_) {
    last_ms_ = ms;
    counter_ = 0;
  } else if (++counter_ > kCounterMax) {  // same (or an earlier) millisecond: count on
    ++last_ms_;                           // borrow the next millisecond rather than repeat
    counter_ = 0;
  }
  uint64_t random = random_();

  std::array<uint8_t, 16> bytes;
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(last_ms_ >> (40 - 8 * i));
  bytes[6] = static_cast<uint8_t>(0x70 | (counter_ >> 8));  // version 7
  bytes[7] = static_cast<uint8_t>(counter_);
  bytes[8] = static_cast<uint8_t>(0x80 | ((random >> 56) & 0x3f));  // variant 10
  for (int i = 9; i < 16; ++i) bytes[i] = static_cast<uint8_t>(random >> (8 * (15 - i)));

  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0xf]);
  }
  return text;
}

}  // namespace percore::baseline
