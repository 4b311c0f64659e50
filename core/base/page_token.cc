#include "core/base/page_token.h"

#include <cstdint>
#include <random>
#include <utility>

#include "core/storage/partition_of.h"

namespace percore {
namespace {

constexpr size_t kChecksumBytes = 8;

std::string& TokenKey() {
  static std::string key = [] {
    std::random_device device;
    std::string k(16, '\0');
    for (char& c : k) c = static_cast<char>(device());
    return k;
  }();
  return key;
}

uint64_t Checksum(std::string_view cursor, std::string_view scope) {
  std::string keyed = TokenKey();
  keyed.append(scope);
  keyed.append(cursor);
  return storage::StableHash64(keyed);
}

void AppendHex(std::string_view bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 0xf]);
  }
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

void SetPageTokenKey(std::string key) { TokenKey() = std::move(key); }

std::string PageTokenCodec::Encode(std::string_view cursor, std::string_view scope) const {
  uint64_t sum = Checksum(cursor, scope);
  std::string sum_bytes(kChecksumBytes, '\0');
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    sum_bytes[i] = static_cast<char>(sum >> (56 - 8 * i));
  }
  std::string token(prefix_);
  token.reserve(prefix_.size() + 2 * (cursor.size() + kChecksumBytes));
  AppendHex(cursor, &token);
  AppendHex(sum_bytes, &token);
  return token;
}

std::optional<std::string> PageTokenCodec::Decode(std::string_view token,
                                                  std::string_view scope) const {
  if (token.substr(0, prefix_.size()) != prefix_) return std::nullopt;
  std::optional<std::string> raw = Unhex(token.substr(prefix_.size()));
  if (!raw || raw->size() <= kChecksumBytes) return std::nullopt;
  std::string cursor = raw->substr(0, raw->size() - kChecksumBytes);
  uint64_t sum = 0;
  for (size_t i = raw->size() - kChecksumBytes; i < raw->size(); ++i) {
    sum = sum << 8 | static_cast<unsigned char>((*raw)[i]);
  }
  if (sum != Checksum(cursor, scope)) return std::nullopt;
  return cursor;
}

}  // namespace percore
