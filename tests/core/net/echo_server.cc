// A byte-level echo server on core/net, for native_wire_test.py: a runtime in LoopMode::kEpoll
// with --shards shards, the native server on 127.0.0.1:0, and one observer per call shape.
// Prints "port N" when serving; SIGTERM drains (GOAWAY, calls in flight finish), then prints
// the final counters and exits 0.
//
// Threading contract: main() is the control thread; every handler and observer runs on the
// shard thread that owns its stream.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/net/dispatcher.h"
#include "core/net/server.h"
#include "core/net/stream.h"
#include "core/runtime/runtime.h"

namespace percore::net {
namespace {

using namespace std::chrono_literals;

std::atomic<int64_t> wait_cancels{0};
std::atomic<int64_t> unary_started{0};  // /test.Echo/Unary calls dispatched
Server* server_for_stats = nullptr;

// The base of every test call: owns itself, deleted at OnDone.
class Call : public StreamObserver {
 public:
  explicit Call(Stream& stream) : stream_(stream) { stream.SetObserver(this); }
  virtual ~Call() = default;
  void OnMessage(Stream&, std::string_view message) override { request_.assign(message); }
  void OnHalfClose(Stream&) override {}
  void OnCancel(Stream&) override {}
  void OnDone(Stream&) override { delete this; }

 protected:
  Stream& stream_;
  std::string request_;
};

class UnaryCall final : public Call {
 public:
  explicit UnaryCall(Stream& stream) : Call(stream) { unary_started.fetch_add(1); }
  void OnHalfClose(Stream&) override {
    stream_.AddInitialMetadata("x-shard", std::to_string(runtime::Shard::Current()->id()));
    // What the stream holds of `authorization` (however it came: decoded by nghttp2 or handed
    // over by the connection), for the tests of Connection::Receive.
    bool repeated = false;
    if (auto authorization = stream_.metadata_single("authorization", &repeated)) {
      stream_.AddInitialMetadata("x-authorization", *authorization);
      if (repeated) stream_.AddInitialMetadata("x-authorization-repeated", "yes");
    }
    stream_.Write(request_);
    stream_.Finish(StatusCode::kOk, "");
  }
};

// Request metadata "copies": that many copies of the request, with write backpressure.
class ServerStreamCall final : public Call {
 public:
  using Call::Call;
  void OnHalfClose(Stream&) override {
    auto copies = stream_.metadata("copies");
    left_ = copies ? std::atoi(std::string(*copies).c_str()) : 3;
    OnWritable(stream_);
  }
  void OnWritable(Stream&) override {
    while (left_ > 0 && stream_.Write(request_)) --left_;
    if (left_ == 0) stream_.Finish(StatusCode::kOk, "");
  }

 private:
  int left_ = 0;
};

// Echoes each message as it comes; a refused write pauses reading until the queue drains.
class BidiCall final : public Call {
 public:
  using Call::Call;
  void OnMessage(Stream&, std::string_view message) override {
    if (!stream_.Write(message)) {
      held_.assign(message);
      stream_.Pause();
    }
  }
  void OnWritable(Stream&) override {
    if (stream_.Write(held_)) stream_.Resume();
  }
  void OnHalfClose(Stream&) override { stream_.Finish(StatusCode::kOk, ""); }

 private:
  std::string held_;
};

class ErrorCall final : public Call {
 public:
  using Call::Call;
  void OnHalfClose(Stream&) override {
    stream_.AddTrailingMetadata("x-detail", "trailing");
    stream_.AddTrailingMetadata("x-detail-bin", std::string_view("\x00\x01\x02\xff", 4));
    stream_.Finish(StatusCode::kFailedPrecondition, "100% wrong:\nünïcode \x01 done");
  }
};

// Never answers; counts its cancellations (client cancel, deadline, connection closed).
class WaitCall final : public Call {
 public:
  using Call::Call;
  void OnCancel(Stream&) override { wait_cancels.fetch_add(1); }
};

// Answers after 300 ms: a call in flight across a drain.
class SlowCall final : public Call {
 public:
  explicit SlowCall(Stream& stream) : Call(stream) { stream.Ref(); }
  void OnHalfClose(Stream&) override {
    timer_ = runtime::Shard::Current()->RunAfter(300ms, [this] {
      timer_ = 0;
      stream_.Write(request_);
      stream_.Finish(StatusCode::kOk, "");
    });
  }
  void OnCancel(Stream&) override {
    if (timer_ != 0) runtime::Shard::Current()->CancelTimer(timer_);
    timer_ = 0;
  }
  void OnDone(Stream&) override {
    if (timer_ != 0) runtime::Shard::Current()->CancelTimer(timer_);
    stream_.Unref();
    delete this;
  }

 private:
  runtime::TimerId timer_ = 0;
};

// The peer, the decoded "x-echo-bin" metadata and the server's counters, as text.
class InfoCall final : public Call {
 public:
  using Call::Call;
  void OnHalfClose(Stream&) override {
    auto bin = stream_.metadata("x-echo-bin");
    std::string reply =
        "peer=" + std::string(stream_.peer()) +
        " live_streams=" + std::to_string(server_for_stats->live_streams()) +
        " wait_cancels=" + std::to_string(wait_cancels.load()) +
        " unary_started=" + std::to_string(unary_started.load()) +
        " cancelled=" + std::to_string(server_for_stats->cancelled_streams()) +
        " connections=" + std::to_string(server_for_stats->open_connections()) +
        " authorization_reuses=" + std::to_string(server_for_stats->authorization_reuses()) +
        " bin=" + std::string(bin.value_or("")) +
        " deadline=" + (stream_.deadline() == runtime::Clock::time_point::max() ? "none" : "set");
    stream_.Write(reply);
    stream_.Finish(StatusCode::kOk, "");
  }
};

template <class C>
class Starter final : public MethodHandler {
 public:
  void OnStream(Stream& stream) override { new C(stream); }
};

class EchoDispatcher final : public Dispatcher {
 public:
  MethodHandler* Dispatch(std::string_view path) override {
    if (path == "/test.Echo/Unary") return &unary_;
    if (path == "/test.Echo/ServerStream") return &server_stream_;
    if (path == "/test.Echo/Bidi") return &bidi_;
    if (path == "/test.Echo/Error") return &error_;
    if (path == "/test.Echo/Wait") return &wait_;
    if (path == "/test.Echo/Slow") return &slow_;
    if (path == "/test.Echo/Info") return &info_;
    return nullptr;
  }

 private:
  Starter<ServerStreamCall> server_stream_;
  Starter<BidiCall> bidi_;
  Starter<ErrorCall> error_;
  Starter<WaitCall> wait_;
  Starter<SlowCall> slow_;
  Starter<InfoCall> info_;
  Starter<UnaryCall> unary_;
};

}  // namespace
}  // namespace percore::net

int main(int argc, char** argv) {
  using namespace percore;
  int shards = 2;
  net::WireOptions options;
  options.max_message_bytes = 1 << 20;
  options.reuse_authorization = true;  // AuthorizationHandOverTest
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--shards") shards = std::atoi(argv[i + 1]);
    if (flag == "--connection-buffer-bytes")
      options.connection_buffer_bytes = std::atoi(argv[i + 1]);
    if (flag == "--max-concurrent-streams") options.max_concurrent_streams = std::atoi(argv[i + 1]);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: sigwait below

  runtime::Runtime runtime(
      runtime::RuntimeOptions{.shards = shards, .pin = false, .loop = runtime::LoopMode::kEpoll});
  runtime.Start();
  net::EchoDispatcher dispatcher;
  net::Server server(runtime, dispatcher, options);
  net::server_for_stats = &server;
  std::string error;
  if (!server.Start("127.0.0.1", 0, &error)) {
    std::fprintf(stderr, "echo_server: %s\n", error.c_str());
    return 1;
  }
  std::printf("port %d\n", server.port());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  server.Drain();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server.open_connections() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int64_t connections = server.open_connections();
  server.Stop();
  std::printf("drained connections=%lld live_streams=%lld streams_total=%lld\n",
              static_cast<long long>(connections), static_cast<long long>(server.live_streams()),
              static_cast<long long>(server.streams_total()));
  std::fflush(stdout);
  runtime.Stop();
  return 0;
}
