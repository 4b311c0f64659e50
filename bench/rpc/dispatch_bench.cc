// Handler dispatch per call shape, end to end over loopback: a real percore server (one shard,
// rpc::ServerHost on 127.0.0.1:0, the interop TestService and health) driven by gRPC's
// synchronous C++ client on the benchmark thread, one call at a time. Time is the client's
// round trip (client stack + TCP + server); shard_cpu_us_per_item is the shard thread's own
// CPU per call or message, which is what percore's dispatch (and gRPC's server transport, which
// runs on the shard) costs, and what bounds one core's throughput.

#include <benchmark/benchmark.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <pthread.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>

#include "core/rpc/server_host.h"
#include "core/runtime/runtime.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/testing/test.grpc.pb.h"
#include "services/health/health_handler.h"
#include "services/interop/test_service_handler.h"

namespace percore::rpc {
namespace {

using grpc::testing::TestService;

// Set up by main() before any benchmark runs.
TestService::Stub* test_stub = nullptr;
grpc::health::v1::Health::Stub* health_stub = nullptr;
clockid_t shard_clock;

int64_t ShardCpuNanos() {
  timespec ts;
  clock_gettime(shard_clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Measures the shard's CPU over one benchmark run; Report() sets items and the counter.
class ShardCpu {
 public:
  ShardCpu() : start_(ShardCpuNanos()) {}
  void Report(benchmark::State& state, int64_t items) const {
    state.SetItemsProcessed(items);
    state.counters["shard_cpu_us_per_item"] =
        static_cast<double>(ShardCpuNanos() - start_) / 1000.0 / static_cast<double>(items);
  }

 private:
  int64_t start_;
};

bool Check(benchmark::State& state, const grpc::Status& status) {
  if (status.ok()) return true;
  state.SkipWithError(status.error_message().c_str());
  return false;
}

grpc::testing::Payload Payload(int bytes) {
  grpc::testing::Payload payload;
  payload.mutable_body()->assign(static_cast<size_t>(bytes), 'p');
  return payload;
}

// The smallest unary call (grpc.health.v1.Health/Check for the whole server).
void BM_Dispatch_HealthCheck(benchmark::State& state) {
  ShardCpu cpu;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  for (auto _ : state) {
    grpc::ClientContext context;
    if (!Check(state, health_stub->Check(&context, request, &response))) break;
  }
  cpu.Report(state, state.iterations());
}
BENCHMARK(BM_Dispatch_HealthCheck)->UseRealTime();

void BM_Dispatch_EmptyCall(benchmark::State& state) {
  ShardCpu cpu;
  grpc::testing::Empty request;
  grpc::testing::Empty response;
  for (auto _ : state) {
    grpc::ClientContext context;
    if (!Check(state, test_stub->EmptyCall(&context, request, &response))) break;
  }
  cpu.Report(state, state.iterations());
}
BENCHMARK(BM_Dispatch_EmptyCall)->UseRealTime();

// 100-byte payload each way.
void BM_Dispatch_UnaryCall100B(benchmark::State& state) {
  ShardCpu cpu;
  grpc::testing::SimpleRequest request;
  request.set_response_size(100);
  *request.mutable_payload() = Payload(100);
  grpc::testing::SimpleResponse response;
  for (auto _ : state) {
    grpc::ClientContext context;
    if (!Check(state, test_stub->UnaryCall(&context, request, &response))) break;
  }
  cpu.Report(state, state.iterations());
}
BENCHMARK(BM_Dispatch_UnaryCall100B)->UseRealTime();

// One call per iteration answered with 1000 messages of 100 bytes; items are messages.
void BM_Dispatch_StreamingOutputCall(benchmark::State& state) {
  constexpr int kMessages = 1000;
  ShardCpu cpu;
  grpc::testing::StreamingOutputCallRequest request;
  for (int i = 0; i < kMessages; ++i) request.add_response_parameters()->set_size(100);
  grpc::testing::StreamingOutputCallResponse response;
  for (auto _ : state) {
    grpc::ClientContext context;
    auto reader = test_stub->StreamingOutputCall(&context, request);
    int received = 0;
    while (reader->Read(&response)) ++received;
    if (!Check(state, reader->Finish())) break;
    if (received != kMessages) {
      state.SkipWithError("short stream");
      break;
    }
  }
  cpu.Report(state, state.iterations() * kMessages);
}
BENCHMARK(BM_Dispatch_StreamingOutputCall)->UseRealTime();

// One call per iteration carrying 100 messages of 100 bytes; items are messages.
void BM_Dispatch_StreamingInputCall(benchmark::State& state) {
  constexpr int kMessages = 100;
  ShardCpu cpu;
  grpc::testing::StreamingInputCallRequest request;
  *request.mutable_payload() = Payload(100);
  grpc::testing::StreamingInputCallResponse response;
  for (auto _ : state) {
    grpc::ClientContext context;
    auto writer = test_stub->StreamingInputCall(&context, &response);
    for (int i = 0; i < kMessages; ++i) writer->Write(request);
    writer->WritesDone();
    if (!Check(state, writer->Finish())) break;
  }
  cpu.Report(state, state.iterations() * kMessages);
}
BENCHMARK(BM_Dispatch_StreamingInputCall)->UseRealTime();

// One FullDuplexCall for the whole run; each iteration is one ping (100 B, asking for one
// 100 B response) and its pong, so time is the per-message round trip on an open stream.
void BM_Dispatch_FullDuplexPingPong(benchmark::State& state) {
  ShardCpu cpu;
  grpc::testing::StreamingOutputCallRequest request;
  request.add_response_parameters()->set_size(100);
  *request.mutable_payload() = Payload(100);
  grpc::testing::StreamingOutputCallResponse response;
  grpc::ClientContext context;
  auto stream = test_stub->FullDuplexCall(&context);
  for (auto _ : state) {
    if (!stream->Write(request) || !stream->Read(&response)) {
      state.SkipWithError("stream broke");
      break;
    }
  }
  stream->WritesDone();
  Check(state, stream->Finish());
  cpu.Report(state, state.iterations());
}
BENCHMARK(BM_Dispatch_FullDuplexPingPong)->UseRealTime();

}  // namespace
}  // namespace percore::rpc

// Starts the server, runs the benchmarks against it, shuts it down.
int main(int argc, char** argv) {
  using namespace percore;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // One shard, floating: the benchmark thread and gRPC's client threads share a small machine.
  runtime::Runtime runtime(runtime::RuntimeOptions{.shards = 1, .pin = false});
  rpc::ServerOptions options;
  options.listen = "127.0.0.1:0";
  rpc::ServerHost host(runtime, options);  // destroyed before the runtime
  host.AddService(interop::MakeTestService());
  host.AddService(health::MakeHealthService({"grpc.testing.TestService"}));
  if (grpc::Status started = host.Start(); !started.ok()) {
    std::fprintf(stderr, "rpc_bench: %s\n", started.error_message().c_str());
    return 1;
  }
  std::promise<clockid_t> clock;
  runtime.SubmitTo(0, [&clock] {
    clockid_t id;
    pthread_getcpuclockid(pthread_self(), &id);
    clock.set_value(id);
  });
  rpc::shard_clock = clock.get_future().get();

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(host.port()),
                                     grpc::InsecureChannelCredentials());
  auto test_stub = grpc::testing::TestService::NewStub(channel);
  auto health_stub = grpc::health::v1::Health::NewStub(channel);
  rpc::test_stub = test_stub.get();
  rpc::health_stub = health_stub.get();

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  host.Shutdown(std::chrono::seconds(1));
  return 0;
}
