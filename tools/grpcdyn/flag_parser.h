#pragma once
// Threading contract: single-threaded; build, parse, then read the bound variables.
//
// A small command-line parser in the Go tools' conventions, because ghz and grpcurl users type
// their flags from memory: "--name value", "--name=value", "-x value", and long names with one
// dash ("-plaintext", "-skipFirst") as Go's flag package allows. Every flag binds a variable;
// --help text is generated from the same table, so it cannot drift from what is parsed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

class FlagParser {
 public:
  using Setter = std::function<Status(std::string_view value)>;

  // `names` are spelled as typed: {"-c", "--concurrency"}. An empty metavar makes a boolean
  // flag that takes no value (or "=true"/"=false").
  void Add(std::vector<std::string> names, std::string metavar, std::string help, Setter set);
  void AddBool(std::vector<std::string> names, std::string help, bool* out);
  void AddString(std::vector<std::string> names, std::string metavar, std::string help,
                 std::string* out);
  void AddUint(std::vector<std::string> names, std::string metavar, std::string help,
               uint64_t* out);
  void AddDouble(std::vector<std::string> names, std::string metavar, std::string help,
                 double* out);
  void AddDuration(std::vector<std::string> names, std::string metavar, std::string help,
                   std::chrono::nanoseconds* out);

  // Sets the bound variables; returns the positional arguments. Errors name the flag.
  Result<std::vector<std::string>> Parse(int argc, char** argv);
  // Whether the flag with this (any) name appeared on the command line.
  bool WasSet(std::string_view name) const;
  std::string Help() const;

 private:
  struct Flag {
    std::vector<std::string> names;
    std::string metavar;
    std::string help;
    Setter set;
  };
  const Flag* Find(std::string_view name) const;

  std::vector<Flag> flags_;
  std::set<const Flag*> seen_;
};

}  // namespace percore::grpcdyn
