#include "tools/grpcdyn/duration.h"

#include <cctype>
#include <cmath>
#include <string>

namespace percore::grpcdyn {
namespace {

// Nanoseconds per unit; longest spellings first so "ms" is not read as "m".
struct Unit {
  std::string_view name;
  double nanos;
};
constexpr Unit kUnits[] = {
    {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
};

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  // Built with append: GCC 12 warns falsely (-Wrestrict) about "'" + std::string(...).
  std::string quoted(1, '\'');
  quoted.append(text).push_back('\'');
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return Error{"empty duration"};
  double total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() &&
           (std::isdigit(static_cast<unsigned char>(rest[digits])) || rest[digits] == '.')) {
      ++digits;
    }
    if (digits == 0) return Error{"duration " + quoted + " needs a number before each unit"};
    double number = 0;
    try {
      size_t used = 0;
      number = std::stod(std::string(rest.substr(0, digits)), &used);
      if (used != digits) throw std::invalid_argument("partial");
    } catch (const std::exception&) {
      return Error{"bad number in duration " + quoted};
    }
    rest.remove_prefix(digits);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      // The unit ends where the next number starts.
      if (rest.substr(0, u.name.size()) == u.name &&
          (rest.size() == u.name.size() ||
           std::isdigit(static_cast<unsigned char>(rest[u.name.size()])) ||
           rest[u.name.size()] == '.')) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return Error{"duration " + quoted + " needs a unit (ns, us, ms, s, m, h), e.g. 10s"};
    }
    rest.remove_prefix(unit->name.size());
    total += number * unit->nanos;
  }
  if (!std::isfinite(total) || total > 9.2e18) return Error{"duration " + quoted + " too long"};
  return std::chrono::nanoseconds(static_cast<long long>(std::llround(total)));
}

}  // namespace percore::grpcdyn
