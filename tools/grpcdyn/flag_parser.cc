#include "tools/grpcdyn/flag_parser.h"

#include <charconv>
#include <cmath>

#include "tools/grpcdyn/duration.h"

namespace percore::grpcdyn {

void FlagParser::Add(std::vector<std::string> names, std::string metavar, std::string help,
                     Setter set) {
  flags_.push_back(Flag{std::move(names), std::move(metavar), std::move(help), std::move(set)});
}

void FlagParser::AddBool(std::vector<std::string> names, std::string help, bool* out) {
  Add(std::move(names), "", std::move(help), [out](std::string_view value) -> Status {
    if (value.empty() || value == "true" || value == "1") {
      *out = true;
    } else if (value == "false" || value == "0") {
      *out = false;
    } else {
      return Error{"expects true or false, got '" + std::string(value) + "'"};
    }
    return OkStatus();
  });
}

void FlagParser::AddString(std::vector<std::string> names, std::string metavar, std::string help,
                           std::string* out) {
  Add(std::move(names), std::move(metavar), std::move(help), [out](std::string_view value) {
    *out = std::string(value);
    return OkStatus();
  });
}

void FlagParser::AddUint(std::vector<std::string> names, std::string metavar, std::string help,
                         uint64_t* out) {
  Add(std::move(names), std::move(metavar), std::move(help),
      [out](std::string_view value) -> Status {
        uint64_t parsed = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
        if (ec != std::errc() || end != value.data() + value.size()) {
          return Error{"expects a whole number, got '" + std::string(value) + "'"};
        }
        *out = parsed;
        return OkStatus();
      });
}

void FlagParser::AddDouble(std::vector<std::string> names, std::string metavar, std::string help,
                           double* out) {
  Add(std::move(names), std::move(metavar), std::move(help),
      [out](std::string_view value) -> Status {
        try {
          size_t used = 0;
          double parsed = std::stod(std::string(value), &used);
          if (used != value.size() || !std::isfinite(parsed) || parsed < 0) {
            throw std::invalid_argument("bad");
          }
          *out = parsed;
          return OkStatus();
        } catch (const std::exception&) {
          return Error{"expects a non-negative number, got '" + std::string(value) + "'"};
        }
      });
}

void FlagParser::AddDuration(std::vector<std::string> names, std::string metavar, std::string help,
                             std::chrono::nanoseconds* out) {
  Add(std::move(names), std::move(metavar), std::move(help),
      [out](std::string_view value) -> Status {
        auto parsed = ParseDuration(value);
        if (!parsed.ok()) return Error{parsed.error()};
        *out = *parsed;
        return OkStatus();
      });
}

const FlagParser::Flag* FlagParser::Find(std::string_view name) const {
  for (const Flag& flag : flags_) {
    for (const std::string& n : flag.names) {
      if (n == name) return &flag;
    }
  }
  return nullptr;
}

Result<std::vector<std::string>> FlagParser::Parse(int argc, char** argv) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.push_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = Find(name);
    // Go's flag package takes long names after one dash too: -plaintext, -skipFirst.
    if (flag == nullptr && name.size() > 2 && name[1] != '-') flag = Find("-" + name);
    if (flag == nullptr) return Error{"unknown flag '" + name + "' (see --help)"};
    if (!flag->metavar.empty() && !has_value) {
      if (i + 1 >= argc) return Error{"flag " + name + " needs a value (" + flag->metavar + ")"};
      value = argv[++i];
    }
    if (Status set = flag->set(value); !set.ok()) {
      return Error{"flag " + name + ": " + set.error()};
    }
    seen_.insert(flag);
  }
  return positional;
}

bool FlagParser::WasSet(std::string_view name) const {
  const Flag* flag = Find(name);
  return flag != nullptr && seen_.count(flag) > 0;
}

std::string FlagParser::Help() const {
  std::vector<std::string> heads;
  size_t width = 0;
  for (const Flag& flag : flags_) {
    std::string head = "  ";
    for (size_t i = 0; i < flag.names.size(); ++i) head += (i ? ", " : "") + flag.names[i];
    if (!flag.metavar.empty()) head += " " + flag.metavar;
    width = std::max(width, head.size());
    heads.push_back(std::move(head));
  }
  std::string out;
  for (size_t i = 0; i < flags_.size(); ++i) {
    out += heads[i] + std::string(width + 2 - heads[i].size(), ' ');
    // Continuation lines of a long help text line up under its first line.
    for (char c : flags_[i].help) {
      out += c;
      if (c == '\n') out += std::string(width + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace percore::grpcdyn
