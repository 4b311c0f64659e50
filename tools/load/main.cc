// percore-load: a ghz-compatible gRPC load generator for any method of any server. Resolves
// the method (from --proto files or server reflection), serializes the -d messages once, runs
// the calls on one or two completion-queue threads, and prints ghz's report.
// Exit status: 0 when the run completed, 1 when it could not run, 2 for usage errors.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#include "tools/grpcdyn/channel.h"
#include "tools/grpcdyn/message_codec.h"
#include "tools/grpcdyn/method_lookup.h"
#include "tools/grpcdyn/proto_file_schema.h"
#include "tools/grpcdyn/reflection_schema.h"
#include "tools/grpcdyn/request_data.h"
#include "tools/load/load_options.h"
#include "tools/load/load_runner.h"
#include "tools/load/report.h"

namespace {

using namespace percore;

constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "percore-load: %s\n", message.c_str());
  return code;
}

nlohmann::ordered_json OptionsJson(const load::LoadOptions& o, const grpcdyn::Metadata& metadata) {
  nlohmann::ordered_json j;
  j["call"] = o.call;
  j["host"] = o.host;
  j["proto"] = o.proto;
  j["import-paths"] = o.import_paths;
  j["insecure"] = o.tls.cacert.empty();
  if (!o.tls.cacert.empty()) j["cacert"] = o.tls.cacert;
  j["total"] = o.total;
  j["concurrency"] = o.concurrency;
  j["connections"] = o.connections;
  j["rps"] = o.rps;
  j["duration"] = o.duration.count();
  j["duration-stop"] = o.duration_stop;
  j["timeout"] = o.timeout.count();
  j["dial-timeout"] = o.connect_timeout.count();
  j["skipFirst"] = o.skip_first;
  j["stream-call-count"] = o.stream_call_count;
  j["stream-interval"] = o.stream_interval.count();
  j["data"] = nlohmann::ordered_json::parse(o.data, nullptr, /*allow_exceptions=*/false);
  if (j["data"].is_discarded()) j["data"] = nlohmann::ordered_json::object();
  j["metadata"] = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metadata) j["metadata"][key] = value;
  j["CPUs"] = o.threads;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = load::ParseLoadOptions(argc, argv);
  if (!parsed.ok()) return Fail(kUsageError, parsed.error());
  const load::LoadOptions& o = *parsed;
  if (o.help) {
    std::fputs(load::LoadUsage().c_str(), stdout);
    return 0;
  }
  auto method_name = grpcdyn::ParseMethodName(o.call);
  if (!method_name.ok()) return Fail(kUsageError, "--call: " + method_name.error());
  auto data = grpcdyn::SplitRequestData(o.data);
  if (!data.ok()) return Fail(kUsageError, "-d: " + data.error());
  auto metadata = grpcdyn::ParseMetadata(o.metadata);
  if (!metadata.ok()) return Fail(kUsageError, "-m: " + metadata.error());

  // Parse the proto files before connecting: their errors are the user's to fix first.
  std::unique_ptr<grpcdyn::Schema> schema;
  if (!o.proto.empty()) {
    auto loaded = grpcdyn::LoadProtoFiles({o.proto}, o.import_paths);
    if (!loaded.ok()) return Fail(kUsageError, "--proto: " + loaded.error());
    schema = std::move(*loaded);
  }
  auto credentials = grpcdyn::ChannelCredentialsFrom(o.tls);
  if (!credentials.ok()) return Fail(kUsageError, credentials.error());
  load::LoadPlan plan;
  plan.options = &o;
  // Channel 0 also serves reflection and the reachability check (both transports).
  plan.channels.push_back(grpcdyn::MakeChannel(o.host, 0, *credentials));
  if (auto connected = grpcdyn::WaitForConnection(*plan.channels[0], o.host, o.connect_timeout);
      !connected.ok()) {
    return Fail(kRuntimeError, connected.error());
  }
  if (!schema) schema = grpcdyn::MakeReflectionSchema(plan.channels[0], o.connect_timeout);
  auto method = grpcdyn::FindMethod(*schema, *method_name);
  if (!method.ok()) return Fail(kRuntimeError, method.error());
  plan.path = method->path;
  plan.shape = method->shape;

  grpcdyn::MessageCodec codec(method->descriptor->input_type());
  for (const std::string& json : data->messages) {
    auto wire = codec.JsonToWire(json);
    if (!wire.ok()) return Fail(kUsageError, "-d: " + wire.error());
    plan.requests.push_back(std::move(*wire));
  }
  plan.metadata = std::move(*metadata);
  if (o.client_transport == "native") {
    bool served = o.tls.cacert.empty() && (plan.shape == grpcdyn::CallShape::kUnary ||
                                           plan.shape == grpcdyn::CallShape::kServerStreaming);
    if (served) {
      plan.native_client = true;
    } else {
      std::fputs(
          "percore-load: --client-transport native serves unary and server-streaming calls "
          "in plaintext; this run uses grpc\n",
          stderr);
    }
  }
  for (uint64_t i = 1; i < (plan.native_client ? 0 : o.connections); ++i) {
    plan.channels.push_back(grpcdyn::MakeChannel(o.host, static_cast<int>(i), *credentials));
  }
  for (size_t i = 1; i < plan.channels.size(); ++i) {
    if (auto connected = grpcdyn::WaitForConnection(*plan.channels[i], o.host, o.connect_timeout);
        !connected.ok()) {
      return Fail(kRuntimeError, connected.error());
    }
  }

  // Ctrl-C ends the run and still prints the report (endReason "cancel"); a second one kills.
  struct sigaction interrupt {};
  interrupt.sa_handler = OnInterrupt;
  interrupt.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &interrupt, nullptr);
  sigaction(SIGTERM, &interrupt, nullptr);

  load::RunResult run = load::RunLoad(plan, g_interrupted);
  bool streaming = plan.shape != grpcdyn::CallShape::kUnary;
  load::LoadReport report =
      load::BuildReport(run, OptionsJson(o, plan.metadata), streaming, o.details);
  std::string text = o.format == "summary" ? load::RenderSummary(report)
                                           : load::RenderJson(report, o.format == "pretty");
  if (o.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream file(o.output);
  if (!(file << text)) return Fail(kRuntimeError, "cannot write the report to '" + o.output + "'");
  return 0;
}
