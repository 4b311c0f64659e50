#pragma once
// Threading contract: single-threaded; a FlagReader walks one argv once, for one parse.
//
// The command-line shape percore-baseline shares with percore-server: "--name value" or
// "--name=value" for a flag that takes a value, the name alone for one that does not, nothing
// positional. FlagReader hands out one flag at a time and its value, so each binary's parser
// is only its own list of names and checks; ParseInRange reads a number as a whole, in range.
// Header-only and without dependencies, so any binary's flag parser can include it.

#include <charconv>
#include <string>
#include <string_view>

namespace percore::flags {

class FlagReader {
 public:
  FlagReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // Moves to the next flag; false once argv is used up. argv[0] is skipped.
  bool Next() {
    if (++index_ >= argc_) return false;
    typed_ = argv_[index_];
    name_ = typed_;
    value_.clear();
    has_value_ = false;
    if (size_t eq = name_.find('='); name_.rfind("--", 0) == 0 && eq != std::string::npos) {
      value_ = name_.substr(eq + 1);
      name_.resize(eq);
      has_value_ = true;
    }
    return true;
  }

  // The flag's name as typed, without "=value": "--listen".
  const std::string& name() const { return name_; }
  // The whole argument as typed, "=value" included.
  std::string_view typed() const { return typed_; }

  // The flag's value: what follows '=', else the next argument, which is then used up (so a
  // value may start with '-'). false, with `*error` set to "NAME needs a value", when argv ends
  // first. A flag whose parser never asks for a value ignores an "=value" given to it.
  bool TakeValue(std::string* value, std::string* error) {
    if (!has_value_) {
      if (index_ + 1 >= argc_) {
        *error = name_ + " needs a value";
        return false;
      }
      value_ = argv_[++index_];
      has_value_ = true;
    }
    *value = value_;
    return true;
  }

 private:
  int argc_;
  char** argv_;
  int index_ = 0;
  std::string_view typed_;
  std::string name_;
  std::string value_;
  bool has_value_ = false;
};

// All of `text` as a number from `min` to `max` (an integer or floating-point type; NaN is out
// of every range). false leaves `*out` as it was.
template <class Number>
bool ParseInRange(std::string_view text, Number min, Number max, Number* out) {
  Number value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= min && value <= max)) {
    return false;
  }
  *out = value;
  return true;
}

}  // namespace percore::flags
