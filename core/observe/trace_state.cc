#include "core/observe/trace_state.h"

#include <vector>

namespace percore::observe {

namespace {

bool LowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool KeyChar(char c) {
  return LowerAlpha(c) || Digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// simple-key = lcalpha 0*255(keychar); multi-tenant-key = tenant-id "@" system-id, tenant-id =
// (lcalpha / DIGIT) 0*240(keychar), system-id = lcalpha 0*13(keychar).
bool ValidKey(std::string_view key) {
  size_t at = key.find('@');
  std::string_view tenant = at == std::string_view::npos ? key : key.substr(0, at);
  if (tenant.empty()) return false;
  for (char c : tenant) {
    if (!KeyChar(c)) return false;
  }
  if (at == std::string_view::npos) return LowerAlpha(key[0]) && key.size() <= 256;
  std::string_view system = key.substr(at + 1);
  if (!(LowerAlpha(tenant[0]) || Digit(tenant[0])) || tenant.size() > 241) return false;
  if (system.empty() || system.size() > 14 || !LowerAlpha(system[0])) return false;
  for (char c : system) {
    if (!KeyChar(c)) return false;
  }
  return true;
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
bool ValidValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string SanitizeTracestate(std::string_view value) {
  std::vector<std::string_view> members;
  std::vector<std::string_view> keys;
  while (!value.empty() && members.size() < kTracestateMaxMembers) {
    size_t comma = value.find(',');
    std::string_view member = TrimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    size_t equals = member.find('=');
    if (equals == std::string_view::npos) continue;  // empty or broken: dropped
    std::string_view key = member.substr(0, equals);
    if (!ValidKey(key) || !ValidValue(member.substr(equals + 1))) continue;
    bool repeated = false;
    for (std::string_view seen : keys) repeated = repeated || seen == key;
    if (repeated) continue;
    keys.push_back(key);
    members.push_back(member);
  }
  size_t length = 0;
  size_t kept = 0;
  for (; kept < members.size(); ++kept) {
    size_t next = length + (kept > 0 ? 1 : 0) + members[kept].size();
    if (next > kTracestateMaxChars) break;
    length = next;
  }
  std::string out;
  out.reserve(length);
  for (size_t i = 0; i < kept; ++i) {
    if (i > 0) out.push_back(',');
    out.append(members[i]);
  }
  return out;
}

std::shared_ptr<const std::string> TracestateFrom(std::string_view value) {
  std::string clean = SanitizeTracestate(value);
  if (clean.empty()) return nullptr;
  return std::make_shared<const std::string>(std::move(clean));
}

}  // namespace percore::observe
