// Uuid's comparison is byte order (the stores' ordered maps and page cursors rely on it: byte
// order is text order is creation order for UUIDv7s), whatever way it is computed; its text
// form parses back (either case) and nothing else parses.

#include "core/base/uuid.h"

#include <gtest/gtest.h>

#include <cctype>
#include <compare>
#include <cstring>
#include <random>
#include <string>

namespace percore {
namespace {

std::strong_ordering ByteOrder(const Uuid& a, const Uuid& b) {
  return std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) <=> 0;
}

TEST(UuidOrder, MatchesByteOrderWhereverTheyDiffer) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 2000; ++round) {
    Uuid a;
    for (uint8_t& byte : a.bytes) byte = static_cast<uint8_t>(rng());
    Uuid b = a;
    size_t at = round % 16;  // the first differing byte, in each half and at each place
    b.bytes[at] = static_cast<uint8_t>(rng());
    for (size_t i = at + 1; i < 16; ++i) b.bytes[i] = static_cast<uint8_t>(rng());
    EXPECT_EQ(a <=> b, ByteOrder(a, b)) << a.ToString() << " " << b.ToString();
    EXPECT_EQ(b <=> a, ByteOrder(b, a));
    EXPECT_EQ(a == b, ByteOrder(a, b) == 0);
    EXPECT_EQ(a < b, a.ToString() < b.ToString());  // text order too
  }
}

TEST(UuidOrder, HighBitBytesSortAfterLowOnes) {
  Uuid low, high;
  low.bytes[0] = 0x7f;
  high.bytes[0] = 0x80;  // a signed compare would put it first
  EXPECT_LT(low, high);
  low.bytes = {};
  high.bytes = {};
  low.bytes[15] = 0x01;
  high.bytes[15] = 0xff;
  EXPECT_LT(low, high);
  EXPECT_NE(low, high);
  EXPECT_EQ(high, high);
}

TEST(UuidText, RoundTripsInEitherCase) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 500; ++round) {
    Uuid id;
    for (uint8_t& byte : id.bytes) byte = static_cast<uint8_t>(rng());
    std::string text = id.ToString();
    ASSERT_EQ(text.size(), 36u);
    EXPECT_EQ(Uuid::Parse(text), id);
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(Uuid::Parse(text), id);
  }
  EXPECT_EQ(Uuid::Parse("0189abcd-ef01-7234-8567-89abcdef0123")->ToString(),
            "0189abcd-ef01-7234-8567-89abcdef0123");
}

TEST(UuidText, RefusesAnythingElse) {
  const std::string good = "0189abcd-ef01-7234-8567-89abcdef0123";
  for (size_t i = 0; i < good.size(); ++i) {
    for (char bad : {'g', 'G', '-', ' ', '/', ':', '@', '`', '\0', '\xff'}) {
      if (bad == '-' && good[i] == '-') continue;
      std::string text = good;
      text[i] = good[i] == '-' ? 'a' : bad;  // a digit where a dash goes, or a non-digit
      EXPECT_FALSE(Uuid::Parse(text).has_value()) << i << " " << text;
    }
  }
  EXPECT_FALSE(Uuid::Parse(good.substr(1)).has_value());
  EXPECT_FALSE(Uuid::Parse(good + "0").has_value());
  EXPECT_FALSE(Uuid::Parse("").has_value());
}

}  // namespace
}  // namespace percore
