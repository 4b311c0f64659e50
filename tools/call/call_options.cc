#include "tools/call/call_options.h"

#include "tools/grpcdyn/flag_parser.h"
#include "tools/grpcdyn/request_data.h"

namespace percore::call {
namespace {

using grpcdyn::Error;

constexpr char kUsageHead[] = R"(usage: percore-call [flags] [ADDRESS] list [SERVICE]
       percore-call [flags] [ADDRESS] describe [SYMBOL]
       percore-call [flags] [ADDRESS] call package.Service.Method [-d JSON]

A grpcurl-like client for any gRPC server: lists services, describes services, methods and
messages, and calls any method (unary or streaming) with JSON requests, printing each response
as proto3 JSON. Types come from --proto files or, without --proto, from the server's reflection
service. Plaintext, or TLS with --cacert. ADDRESS defaults to 127.0.0.1:50051.

flags:
)";

constexpr char kUsageTail[] = R"(
-d takes JSON, @FILE, or @ / - for stdin; for client- and bidi-streaming methods a JSON array
is the stream's messages, in order. On a non-OK status: "ERROR: code=NotFound message=..." on
stderr and exit 1. Usage errors exit 2.
)";

void AddFlags(grpcdyn::FlagParser& flags, CallOptions& o, std::string& data,
              std::string& import_paths) {
  flags.AddBool({"--plaintext"}, "plaintext connection (the default without --cacert)",
                &o.plaintext);
  grpcdyn::AddTlsFlags(flags, o.tls);
  flags.AddString({"--proto"}, "FILE", "the .proto file to take types from (default: reflection)",
                  &o.proto);
  flags.AddString({"-i", "--import-path", "--import-paths"}, "A,B",
                  "comma-separated import paths for --proto", &import_paths);
  flags.AddString({"-d", "--data"}, "JSON", "request message(s) as JSON (default {})", &data);
  flags.AddString({"-m", "--metadata"}, "JSON", "request headers: {\"key\": \"value\"}",
                  &o.metadata);
  flags.AddDuration({"--timeout", "--max-time"}, "D", "deadline of the call (default: none)",
                    &o.timeout);
  flags.AddDuration({"--connect-timeout"}, "D", "time to connect (default 10s)",
                    &o.connect_timeout);
  flags.AddBool({"-v", "--verbose"}, "also print the method, headers and trailers", &o.verbose);
  flags.AddBool({"--compact"}, "one response per line instead of indented JSON", &o.compact);
  flags.AddBool({"--emit-defaults"}, "print fields that hold their default value",
                &o.emit_defaults);
  flags.AddBool({"-h", "--help"}, "this text", &o.help);
}

}  // namespace

std::string CallUsage() {
  CallOptions o;
  std::string data, paths;
  grpcdyn::FlagParser flags;
  AddFlags(flags, o, data, paths);
  return kUsageHead + flags.Help() + kUsageTail;
}

grpcdyn::Result<CallOptions> ParseCallOptions(int argc, char** argv) {
  CallOptions o;
  std::string data, import_paths;
  grpcdyn::FlagParser flags;
  AddFlags(flags, o, data, import_paths);
  auto parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) return std::move(parsed).TakeError();
  if (o.help) return o;
  std::vector<std::string> words = std::move(*parsed);
  auto is_verb = [](const std::string& w) { return w == "list" || w == "describe" || w == "call"; };
  size_t next = 0;
  if (!words.empty() && !is_verb(words[0]) && words.size() > 1) o.address = words[next++];
  bool only_address = words.size() == 1 && words[0].find(':') != std::string::npos &&
                      words[0].find('/') == std::string::npos;
  if (next >= words.size() || only_address) {
    return Error{"missing command: list, describe or call (see --help)"};
  }
  if (is_verb(words[next])) {
    o.verb = words[next++];
  } else if (words[next].find('/') != std::string::npos ||
             words[next].find('.') != std::string::npos) {
    o.verb = "call";  // grpcurl's form: ADDRESS METHOD
  } else {
    return Error{"unknown command '" + words[next] + "': use list, describe or call"};
  }
  o.args.assign(words.begin() + static_cast<long>(next), words.end());
  if (o.verb == "call" && o.args.size() != 1) {
    return Error{"call needs exactly one method (package.Service.Method)"};
  }
  if (o.verb != "call" && o.args.size() > 1) {
    return Error{o.verb + " takes at most one name, got " + std::to_string(o.args.size())};
  }
  if (flags.WasSet("-d")) {
    auto text = grpcdyn::ReadDataArgument(data);
    if (!text.ok()) return Error{"-d: " + text.error()};
    o.data = *text;
  }
  for (size_t start = 0; start < import_paths.size();) {
    size_t end = import_paths.find(',', start);
    if (end == std::string::npos) end = import_paths.size();
    if (end > start) o.import_paths.push_back(import_paths.substr(start, end - start));
    start = end + 1;
  }
  return o;
}

}  // namespace percore::call
