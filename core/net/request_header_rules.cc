// The request field rules (request_header_rules.h).
#include "core/net/request_header_rules.h"

#include <nghttp2/nghttp2.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <limits>

namespace percore::net {
namespace {

constexpr std::array<bool, 256> LowerTokenChars() {
  std::array<bool, 256> table{};
  for (char c = 'a'; c <= 'z'; ++c) table[static_cast<uint8_t>(c)] = true;
  for (char c = '0'; c <= '9'; ++c) table[static_cast<uint8_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<uint8_t>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kLowerTokenChars = LowerTokenChars();

const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Whether any byte of `value` is one `bad` marks: sixteen bytes a step with SSE2 (every x86-64;
// the last step overlaps the one before), byte by byte below sixteen. A 170-byte token takes ~60
// instructions, where a byte-by-byte table lookup (nghttp2's checks) took ~1,100. `bad` maps
// sixteen bytes to a mask (0xff where bad) with SSE2, one byte to a bool without.
#if defined(__SSE2__)
__m128i Below(__m128i v, uint8_t limit) {  // v < limit, unsigned: max(v, limit) != v
  return _mm_andnot_si128(
      _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(static_cast<char>(limit))), v),
      _mm_set1_epi8(-1));
}
__m128i ControlButTab(__m128i v) {
  return _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), Below(v, 0x20)),
                      _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
}
__m128i SpaceOrControl(__m128i v) {
  return _mm_or_si128(Below(v, 0x21), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
}
#endif
bool ControlButTab(uint8_t c) { return (c < 0x20 && c != '\t') || c == 0x7f; }
bool SpaceOrControl(uint8_t c) { return c <= 0x20 || c == 0x7f; }

template <class Bad>
bool AnyByte(std::string_view value, Bad bad) {
  const uint8_t* p = Bytes(value);
  const size_t size = value.size();
#if defined(__SSE2__)
  if (size >= 16) {
    __m128i found = _mm_setzero_si128();
    for (size_t i = 0; i + 16 <= size; i += 16) {
      found = _mm_or_si128(found, bad(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))));
    }
    found =
        _mm_or_si128(found, bad(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + size - 16))));
    return _mm_movemask_epi8(found) != 0;
  }
#endif
  for (size_t i = 0; i < size; ++i) {
    if (bad(p[i])) return true;
  }
  return false;
}

bool ValidScheme(std::string_view value) {  // RFC 3986 §3.1
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (value.empty() || !alpha(value[0])) return false;
  for (char c : value.substr(1)) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

bool ValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  bool valid = true;
  for (char c : name) valid &= kLowerTokenChars[static_cast<uint8_t>(c)];
  return valid;
}

bool ValidFieldValue(std::string_view value) {
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t')) {
    return false;
  }
  // A control character other than HTAB, or DEL.
  return !AnyByte(value, [](auto v) { return ControlButTab(v); });
}

bool ValidPath(std::string_view value) {  // nghttp2_check_path: 0x21-0x7e and 0x80-0xff
  return !value.empty() && !AnyByte(value, [](auto v) { return SpaceOrControl(v); });
}

std::optional<PseudoHeader> PseudoHeaderOf(std::string_view name) {
  switch (name.size()) {
    case 5:
      if (name == ":path") return PseudoHeader::kPath;
      break;
    case 7:
      if (name == ":method") return PseudoHeader::kMethod;
      if (name == ":scheme") return PseudoHeader::kScheme;
      break;
    case 10:
      if (name == ":authority") return PseudoHeader::kAuthority;
      break;
  }
  return std::nullopt;
}

bool ValidPseudoValue(PseudoHeader which, std::string_view value) {
  switch (which) {
    case PseudoHeader::kMethod:
      return value == "POST" ||
             (!value.empty() && nghttp2_check_method(Bytes(value), value.size()));
    case PseudoHeader::kPath:
      return ValidPath(value);
    case PseudoHeader::kAuthority:
      return !value.empty() && nghttp2_check_authority(Bytes(value), value.size()) != 0;
    case PseudoHeader::kScheme:
      return value == "http" || value == "https" || ValidScheme(value);
  }
  return false;
}

std::optional<int64_t> ParseContentLength(std::string_view value) {
  if (value.empty()) return std::nullopt;
  int64_t length = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    if (length > (std::numeric_limits<int64_t>::max() - digit) / 10) return std::nullopt;
    length = length * 10 + digit;
  }
  return length;
}

bool ValidTe(std::string_view value) {
  return value == "trailers" ||
         (value.size() == 8 && strncasecmp(value.data(), "trailers", 8) == 0);
}

}  // namespace percore::net
