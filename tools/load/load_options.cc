#include "tools/load/load_options.h"

#include <algorithm>
#include <thread>

#include "tools/grpcdyn/flag_parser.h"
#include "tools/grpcdyn/request_data.h"

namespace percore::load {
namespace {

using grpcdyn::Error;
using grpcdyn::FlagParser;

constexpr char kUsageHead[] = R"(usage: percore-load --call pkg.Service.Method [flags] [HOST:PORT]

A gRPC load generator with ghz's flags and report, for any method of any server: message types
come from --proto files or, without --proto, from the server's reflection service. Unary,
server-, client- and bidi-streaming methods. Plaintext, or TLS with --cacert.
HOST:PORT defaults to 127.0.0.1:50051.

flags:
)";

constexpr char kUsageTail[] = R"(
-d takes JSON, @FILE, or @ / - for stdin. A JSON array is used round-robin: call i of a unary
or server-streaming method sends element i mod N; each client or bidi stream sends the elements
in order. Durations: 500ms, 10s, 1m30s. Latency is measured per call from its intended start:
with --rps that is its slot in the schedule, so a stalled server shows up in the percentiles
instead of slowing the load down (no coordinated omission).
Exit status: 0 when the run completed (whatever the calls returned), 1 when it could not run
(server unreachable, unknown service or method), 2 for usage errors (flags, JSON).
)";

void AddFlags(FlagParser& flags, LoadOptions& o, std::string& data, std::string& data_file,
              std::string& metadata_file, std::string& import_paths) {
  flags.AddString({"--call"}, "METHOD",
                  "method to call: package.Service.Method or package.Service/Method", &o.call);
  flags.AddString({"--proto"}, "FILE", "the .proto file that defines it (default: reflection)",
                  &o.proto);
  flags.AddString({"-i", "--import-paths"}, "A,B",
                  "comma-separated import paths for --proto (its folder, the working\n"
                  "directory and /usr/include are added)",
                  &import_paths);
  flags.AddBool({"--insecure"}, "plaintext connection (the default without --cacert)", &o.insecure);
  grpcdyn::AddTlsFlags(flags, o.tls);
  flags.AddUint({"-c", "--concurrency"}, "N", "calls in flight at once (default 50)",
                &o.concurrency);
  flags.AddUint({"--connections"}, "N", "TCP connections the calls are spread over (default 1)",
                &o.connections);
  flags.AddUint({"-n", "--total"}, "N", "calls to make (default 200)", &o.total);
  flags.AddDuration({"-z", "--duration"}, "D", "run for this long instead of -n calls",
                    &o.duration);
  flags.AddString({"--duration-stop"}, "MODE",
                  "at the end of -z, calls in flight are: close (cancelled and counted,\n"
                  "the default), wait (awaited and counted) or ignore (cancelled and\n"
                  "not counted)",
                  &o.duration_stop);
  flags.AddDouble({"--rps"}, "R", "total calls per second, open loop (default: no limit)", &o.rps);
  flags.AddUint({"--skipFirst"}, "N", "leave the first N results out of the report", &o.skip_first);
  flags.AddUint({"--stream-call-count"}, "N",
                "client/bidi streams: messages sent per stream (default: the -d array\n"
                "once); server streams: stop after N messages received (counted OK)",
                &o.stream_call_count);
  flags.AddDuration({"--stream-interval"}, "D", "pause between messages sent on a stream",
                    &o.stream_interval);
  flags.AddDuration({"-t", "--timeout"}, "D", "deadline of each call (default 20s; 0: none)",
                    &o.timeout);
  flags.AddDuration({"--connect-timeout"}, "D", "time to connect (default 10s)",
                    &o.connect_timeout);
  flags.AddString({"-d", "--data"}, "JSON", "request message(s) as JSON (default {})", &data);
  flags.AddString({"-D", "--data-file"}, "FILE", "read -d from FILE (- for stdin)", &data_file);
  flags.AddString({"-m", "--metadata"}, "JSON", "request headers: {\"key\": \"value\"}",
                  &o.metadata);
  flags.AddString({"-M", "--metadata-file"}, "FILE", "read -m from FILE", &metadata_file);
  flags.AddString({"-O", "--format"}, "FORMAT", "summary (default), json or pretty (json)",
                  &o.format);
  flags.AddString({"-o", "--output"}, "FILE", "write the report to FILE (default stdout)",
                  &o.output);
  flags.AddBool({"--details"}, "add every call to the JSON report (memory grows per call)",
                &o.details);
  flags.AddUint({"--cpus", "--threads"}, "N",
                "client threads polling completion queues\n"
                "(default: 2, or 1 on a single CPU)",
                &o.threads);
  flags.AddString({"--client-transport"}, "T",
                  "grpc (libgrpc, the default) or native (percore's nghttp2 client on one\n"
                  "epoll loop per thread, at most one thread per connection; unary and\n"
                  "server-streaming calls in plaintext, others fall back to grpc)",
                  &o.client_transport);
  flags.AddBool({"-h", "--help"}, "this text", &o.help);
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

}  // namespace

std::string LoadUsage() {
  LoadOptions o;
  std::string a, b, c, d;
  FlagParser flags;
  AddFlags(flags, o, a, b, c, d);
  return kUsageHead + flags.Help() + kUsageTail;
}

grpcdyn::Result<LoadOptions> ParseLoadOptions(int argc, char** argv) {
  LoadOptions o;
  std::string data, data_file, metadata_file, import_paths;
  FlagParser flags;
  AddFlags(flags, o, data, data_file, metadata_file, import_paths);
  auto positional = flags.Parse(argc, argv);
  if (!positional.ok()) return std::move(positional).TakeError();
  if (o.help) return o;
  if (positional->size() > 1) {
    return Error{"expected one HOST:PORT, got " + std::to_string(positional->size()) +
                 " arguments (flags go before it; see --help)"};
  }
  if (!positional->empty()) o.host = positional->front();
  if (o.call.empty()) return Error{"--call is required (package.Service.Method)"};
  o.import_paths = SplitComma(import_paths);
  if (flags.WasSet("-d") && flags.WasSet("-D")) return Error{"give -d or -D, not both"};
  if (flags.WasSet("-d")) {
    auto text = grpcdyn::ReadDataArgument(data);
    if (!text.ok()) return Error{"-d: " + text.error()};
    o.data = *text;
  } else if (flags.WasSet("-D")) {
    auto text = grpcdyn::ReadFileArgument(data_file);
    if (!text.ok()) return Error{"-D: " + text.error()};
    o.data = *text;
  }
  if (flags.WasSet("-m") && flags.WasSet("-M")) return Error{"give -m or -M, not both"};
  if (flags.WasSet("-M")) {
    auto text = grpcdyn::ReadFileArgument(metadata_file);
    if (!text.ok()) return Error{"-M: " + text.error()};
    o.metadata = *text;
  }
  if (o.concurrency == 0) return Error{"-c must be at least 1"};
  if (o.connections == 0) return Error{"--connections must be at least 1"};
  if (o.connections > o.concurrency) {
    return Error{"--connections (" + std::to_string(o.connections) + ") cannot exceed -c (" +
                 std::to_string(o.concurrency) + ")"};
  }
  if (o.duration.count() == 0 && o.total == 0) return Error{"-n must be at least 1"};
  if (o.duration.count() == 0 && o.skip_first >= o.total) {
    return Error{"--skipFirst (" + std::to_string(o.skip_first) + ") must be less than -n (" +
                 std::to_string(o.total) + ")"};
  }
  if (o.duration_stop != "close" && o.duration_stop != "wait" && o.duration_stop != "ignore") {
    return Error{"--duration-stop must be close, wait or ignore, got '" + o.duration_stop + "'"};
  }
  if (o.format != "summary" && o.format != "json" && o.format != "pretty") {
    return Error{"-O must be summary, json or pretty, got '" + o.format + "'"};
  }
  if (o.client_transport != "grpc" && o.client_transport != "native") {
    return Error{"--client-transport must be grpc or native, got '" + o.client_transport + "'"};
  }
  if (flags.WasSet("--rps") && o.rps <= 0) return Error{"--rps must be greater than 0"};
  if (o.threads == 0) {
    o.threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  }
  return o;
}

}  // namespace percore::load
