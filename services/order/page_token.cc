#include "services/order/page_token.h"

#include <cstdint>
#include <random>

#include "core/storage/partition_of.h"

namespace percore::order {
namespace {

constexpr std::string_view kPrefix = "o1.";

const std::string& TokenKey() {
  static const std::string key = [] {
    std::random_device device;
    std::string k(16, '\0');
    for (char& c : k) c = static_cast<char>(device());
    return k;
  }();
  return key;
}

uint64_t Checksum(const Uuid& user_id, const Uuid& order_id) {
  std::string keyed = TokenKey();
  keyed.append(user_id.view());
  keyed.append(order_id.view());
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
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

std::string EncodePageToken(const Uuid& user_id, const Uuid& last_order_id) {
  uint64_t sum = Checksum(user_id, last_order_id);
  std::string sum_bytes(8, '\0');
  for (int i = 0; i < 8; ++i) sum_bytes[i] = static_cast<char>(sum >> (56 - 8 * i));
  return std::string(kPrefix) + Hex(last_order_id.view()) + Hex(sum_bytes);
}

std::optional<Uuid> DecodePageToken(const Uuid& user_id, std::string_view token) {
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::optional<std::string> raw = Unhex(token.substr(kPrefix.size()));
  if (!raw || raw->size() != 24) return std::nullopt;
  Uuid id = Uuid::FromBytes(std::string_view(*raw).substr(0, 16));
  uint64_t sum = 0;
  for (int i = 16; i < 24; ++i) sum = sum << 8 | static_cast<unsigned char>((*raw)[i]);
  if (sum != Checksum(user_id, id)) return std::nullopt;
  return id;
}

}  // namespace percore::order
