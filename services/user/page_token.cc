#include "services/user/page_token.h"

#include <random>

#include "core/storage/partition_of.h"

namespace percore::user {
namespace {

constexpr std::string_view kPrefix = "p1.";

const std::string& TokenKey() {
  static const std::string key = [] {
    std::random_device device;
    std::string k(16, '\0');
    for (char& c : k) c = static_cast<char>(device());
    return k;
  }();
  return key;
}

uint64_t Checksum(const UserId& id) {
  std::string keyed = TokenKey();
  keyed.append(id.view());
  return storage::StableHash64(keyed);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto value = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

std::string EncodePageToken(const UserId& last) {
  uint64_t sum = Checksum(last);
  std::string sum_bytes(8, '\0');
  for (int i = 0; i < 8; ++i) sum_bytes[i] = static_cast<char>(sum >> (56 - 8 * i));
  return std::string(kPrefix) + Hex(last.view()) + Hex(sum_bytes);
}

std::optional<UserId> DecodePageToken(std::string_view token) {
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::optional<std::string> raw = Unhex(token.substr(kPrefix.size()));
  if (!raw || raw->size() != 24) return std::nullopt;
  UserId id = UserId::FromBytes(std::string_view(*raw).substr(0, 16));
  uint64_t sum = 0;
  for (int i = 16; i < 24; ++i) sum = sum << 8 | static_cast<unsigned char>((*raw)[i]);
  if (sum != Checksum(id)) return std::nullopt;
  return id;
}

}  // namespace percore::user
