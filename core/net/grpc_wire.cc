#include "core/net/grpc_wire.h"

namespace percore::net {
namespace {
constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // also the URL-safe alphabet, as libgrpc accepts
  if (c == '/' || c == '_') return 63;
  return -1;
}
}  // namespace

std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  int64_t unit_nanos = 0;
  switch (value.back()) {
    case 'H':
      unit_nanos = 3'600'000'000'000;
      break;
    case 'M':
      unit_nanos = 60'000'000'000;
      break;
    case 'S':
      unit_nanos = 1'000'000'000;
      break;
    case 'm':
      unit_nanos = 1'000'000;
      break;
    case 'u':
      unit_nanos = 1'000;
      break;
    case 'n':
      unit_nanos = 1;
      break;
    default:
      return std::nullopt;
  }
  // 99999999H is 3.6e20 ns, past int64: saturated at ten years (still "no deadline" in
  // practice, and now + it cannot overflow a time_point), rather than wrapping negative.
  constexpr int64_t kMaxNanos = int64_t{10} * 365 * 24 * 3'600'000'000'000;
  if (amount > kMaxNanos / unit_nanos) return std::chrono::nanoseconds(kMaxNanos);
  return std::chrono::nanoseconds(amount * unit_nanos);
}

bool NeedsPercentEncoding(std::string_view in) {
  for (unsigned char c : in) {
    if (c < 0x20 || c > 0x7E || c == '%') return true;
  }
  return false;
}

void PercentEncode(std::string_view in, std::string* out) {
  out->reserve(out->size() + in.size());
  for (unsigned char c : in) {
    if (c < 0x20 || c > 0x7E || c == '%') {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

bool Base64Decode(std::string_view in, std::string* out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  out->reserve(out->size() + in.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    int v = Base64Value(c);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out->push_back(static_cast<char>(bits >> 16));
      out->push_back(static_cast<char>(bits >> 8));
      out->push_back(static_cast<char>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) {
    out->push_back(static_cast<char>(bits >> 4));
  } else if (count == 3) {
    out->push_back(static_cast<char>(bits >> 10));
    out->push_back(static_cast<char>(bits >> 2));
  }
  return true;
}

void Base64Encode(std::string_view in, std::string* out) {
  out->reserve(out->size() + (in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t bits = (uint32_t{static_cast<uint8_t>(in[i])} << 16) |
                    (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8) |
                    static_cast<uint8_t>(in[i + 2]);
    out->push_back(kBase64[bits >> 18]);
    out->push_back(kBase64[(bits >> 12) & 63]);
    out->push_back(kBase64[(bits >> 6) & 63]);
    out->push_back(kBase64[bits & 63]);
  }
  if (size_t left = in.size() - i; left > 0) {
    uint32_t bits = uint32_t{static_cast<uint8_t>(in[i])} << 16;
    if (left == 2) bits |= uint32_t{static_cast<uint8_t>(in[i + 1])} << 8;
    out->push_back(kBase64[bits >> 18]);
    out->push_back(kBase64[(bits >> 12) & 63]);
    out->push_back(left == 2 ? kBase64[(bits >> 6) & 63] : '=');
    out->push_back('=');
  }
}

bool IsGrpcContentType(std::string_view value) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (value.substr(0, kGrpc.size()) != kGrpc) return false;
  return value.size() == kGrpc.size() || value[kGrpc.size()] == '+' || value[kGrpc.size()] == ';';
}

}  // namespace percore::net
