#include "services/inventory/sku_page_token.h"

#include <cstdint>
#include <random>

#include "core/storage/partition_of.h"
#include "services/inventory/inventory_validation.h"

namespace percore::inventory {
namespace {

constexpr std::string_view kPrefix = "s1.";
constexpr size_t kChecksumBytes = 8;

const std::string& TokenKey() {
  static const std::string key = [] {
    std::random_device device;
    std::string k(16, '\0');
    for (char& c : k) c = static_cast<char>(device());
    return k;
  }();
  return key;
}

uint64_t Checksum(std::string_view sku) {
  std::string keyed = TokenKey();
  keyed.append(sku);
  return storage::StableHash64(keyed);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
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
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

std::string EncodeSkuPageToken(std::string_view last_sku) {
  uint64_t sum = Checksum(last_sku);
  std::string sum_bytes(kChecksumBytes, '\0');
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    sum_bytes[i] = static_cast<char>(sum >> (56 - 8 * i));
  }
  return std::string(kPrefix) + Hex(last_sku) + Hex(sum_bytes);
}

std::optional<std::string> DecodeSkuPageToken(std::string_view token) {
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::optional<std::string> raw = Unhex(token.substr(kPrefix.size()));
  if (!raw || raw->size() <= kChecksumBytes) return std::nullopt;
  std::string sku = raw->substr(0, raw->size() - kChecksumBytes);
  if (!ValidateSku(sku, "page_token").ok()) return std::nullopt;
  uint64_t sum = 0;
  for (size_t i = raw->size() - kChecksumBytes; i < raw->size(); ++i) {
    sum = sum << 8 | static_cast<unsigned char>((*raw)[i]);
  }
  if (sum != Checksum(sku)) return std::nullopt;
  return sku;
}

}  // namespace percore::inventory
