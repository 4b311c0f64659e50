// What the runtime's LoopMode::kEpoll adds (runtime_test.cc runs tasks, hops and timers in both
// loop modes): sub-millisecond timers, Sharded<T> on it; fd handlers and deferred work run on the
// shard thread; a libgrpc async client call started on a shard completes through the queue pump on
// that same shard thread; an idle shard does not spin; Stop() shuts everything down with work still
// pending.

#include <grpcpp/alarm.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "core/runtime/completion_tag.h"
#include "core/runtime/runtime.h"
#include "core/runtime/sharded.h"
#include "tests/testing/runtime_fixture.h"

namespace percore::runtime {
namespace {

using namespace std::chrono_literals;

class EpollLoopTest : public testing::RuntimeFixture {
 protected:
  EpollLoopTest()
      : RuntimeFixture(RuntimeOptions{.shards = 2, .pin = false, .loop = LoopMode::kEpoll}) {}
};

TEST_F(EpollLoopTest, TasksRunOnTheirShardAndEachShardHasAPoller) {
  for (ShardId id = 0; id < 2; ++id) {
    EXPECT_EQ(On(id, [] { return Shard::Current()->id(); }), id);
    EXPECT_TRUE(On(id, [] { return Shard::Current()->poller() != nullptr; }));
    EXPECT_EQ(runtime_.shard(id).loop_mode(), LoopMode::kEpoll);
  }
}

TEST_F(EpollLoopTest, TimersFireInDeadlineOrderAndCancelledOnesNever) {
  std::promise<std::vector<int>> done;
  runtime_.SubmitTo(1, [&] {
    auto order = std::make_shared<std::vector<int>>();
    Shard& shard = *Shard::Current();
    shard.RunAfter(30ms, [order] { order->push_back(3); });
    shard.RunAfter(10ms, [order] { order->push_back(1); });
    TimerId cancelled = shard.RunAfter(15ms, [order] { order->push_back(99); });
    shard.RunAfter(20ms, [order] { order->push_back(2); });
    // Sub-millisecond: epoll_wait's timeout is rounded up, so this still fires.
    shard.RunAfter(300us, [order] { order->push_back(0); });
    EXPECT_TRUE(shard.CancelTimer(cancelled));
    shard.RunAfter(60ms, [order, &done] { done.set_value(*order); });
  });
  EXPECT_EQ(done.get_future().get(), (std::vector<int>{0, 1, 2, 3}));
}

struct Counter {
  explicit Counter(ShardId s) : shard(s) {}
  ShardId shard;
  int hits = 0;
};

TEST_F(EpollLoopTest, ShardedInvokeOnRunsOnTheOwnerAndAnswersOnTheCaller) {
  Sharded<Counter> counters;
  for (ShardId s = 0; s < 2; ++s) {
    On(s, [&, s] {
      counters.Emplace(runtime_.shard(s), std::make_unique<Counter>(s));
      return 0;
    });
  }
  std::promise<std::pair<ShardId, ShardId>> done;
  runtime_.SubmitTo(0, [&] {
    counters.InvokeOn(
        1,
        [](Counter& c) {
          ++c.hits;
          return c.shard;
        },
        [&](ShardId owner) {
          done.set_value({owner, Shard::Current()->id()});
        });
  });
  auto [owner, answered_on] = done.get_future().get();
  EXPECT_EQ(owner, 1u);
  EXPECT_EQ(answered_on, 0u);
  EXPECT_EQ(On(1, [&] { return counters.local().hits; }), 1);
  for (ShardId s = 0; s < 2; ++s) {
    On(s, [&, s] {
      counters.Reset(runtime_.shard(s));
      return 0;
    });
  }
}

// A readable socket's handler runs on the shard that registered it; deferred work runs after.
struct SocketReader final : FdHandler, Deferred {
  void OnFdReady(uint32_t) override {
    char byte;
    while (read(fd, &byte, 1) == 1) ++bytes;
    handled_on = Shard::Current();
    Shard::Current()->poller()->Defer(this);
    Shard::Current()->poller()->Defer(this);  // once per round, however often asked
  }
  void RunDeferred() override {
    ++deferred_runs;
    done.set_value(bytes);
  }
  int fd = -1;
  int bytes = 0;
  int deferred_runs = 0;
  Shard* handled_on = nullptr;
  std::promise<int> done;
};

TEST_F(EpollLoopTest, FdHandlersAndDeferredWorkRunOnTheShardThread) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
  SocketReader reader;
  reader.fd = pair[0];
  EXPECT_TRUE(
      On(1, [&] { return Shard::Current()->poller()->Add(pair[0], Poller::kReadable, &reader); }));
  ASSERT_EQ(write(pair[1], "abc", 3), 3);
  EXPECT_EQ(reader.done.get_future().get(), 3);
  On(1, [&] {
    EXPECT_EQ(reader.handled_on, Shard::Current());
    EXPECT_EQ(reader.deferred_runs, 1);
    Shard::Current()->poller()->Remove(pair[0]);
    return 0;
  });
  close(pair[0]);
  close(pair[1]);
}

// A libgrpc client call started on a shard: its tag comes back through the queue pump, and is
// completed on the shard thread that started it.
struct HealthCall {
  void OnDone(bool ok) {
    completed_on = Shard::Current();
    done.set_value(ok && status.ok() && response.Length() > 0);
  }
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  CompletionTag tag{&OnTag<HealthCall, &HealthCall::OnDone>, this};
  Shard* completed_on = nullptr;
  std::promise<bool> done;
};

// A callback-API server (gRPC's threads) answering every method with one fixed byte.
class OneByteService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    struct Reactor final : grpc::ServerGenericBidiReactor {
      Reactor() {
        grpc::Slice slice("x", 1);
        reply = grpc::ByteBuffer(&slice, 1);
        StartWriteAndFinish(&reply, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }
      grpc::ByteBuffer reply;
    };
    return new Reactor;
  }
};

TEST_F(EpollLoopTest, LibgrpcClientCallCompletesOnTheShardThroughThePump) {
  OneByteService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&service);
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  HealthCall call;
  call.context.set_deadline(std::chrono::system_clock::now() + 10s);
  runtime_.SubmitTo(1, [&] {
    grpc::ByteBuffer empty_request;
    call.reader = stub.PrepareUnaryCall(&call.context, "/test.Any/Call", empty_request,
                                        Shard::Current()->cq());
    call.reader->StartCall();
    call.reader->Finish(&call.response, &call.status, &call.tag);
  });
  EXPECT_TRUE(call.done.get_future().get()) << call.status.error_message();
  EXPECT_EQ(call.completed_on, &runtime_.shard(1));
  EXPECT_GE(runtime_.shard(1).events_handled(), 1u);
  server->Shutdown();
}

TEST_F(EpollLoopTest, AnIdleShardDoesNotSpin) {
  On(0, [] { return 0; });
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(300ms);
  getrusage(RUSAGE_SELF, &after);
  auto micros = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000L + r.ru_utime.tv_usec +
           r.ru_stime.tv_usec;
  };
  // Two shards and two pumps spinning would burn ~600 ms of CPU here; blocked, about none.
  EXPECT_LT(micros(after) - micros(before), 60000);
}

TEST(EpollLoopLifecycleTest, StopWithPendingTimersAndAFarAlarmShutsDownCleanly) {
  Runtime runtime(RuntimeOptions{.shards = 2, .pin = false, .loop = LoopMode::kEpoll});
  runtime.Start();
  std::atomic<bool> fired{false};
  std::atomic<int> alarm_ok{-1};
  struct AlarmOp {
    void OnAlarm(bool ok) { *seen = ok ? 1 : 0; }
    std::atomic<int>* seen;
    grpc::Alarm alarm;
    CompletionTag tag{&OnTag<AlarmOp, &AlarmOp::OnAlarm>, this};
  };
  AlarmOp op{&alarm_ok};
  testing::RunOnShard(runtime, 0, [&] {
    Shard::Current()->RunAfter(1h, [&] { fired = true; });
    op.alarm.Set(Shard::Current()->cq(), std::chrono::system_clock::now() + 1h, &op.tag);
    return 0;
  });
  std::thread cancel([&] {
    std::this_thread::sleep_for(50ms);
    op.alarm.Cancel();  // delivered ok=false through the pump, before the queue drains
  });
  cancel.join();
  runtime.Stop();
  EXPECT_FALSE(fired);
  EXPECT_EQ(alarm_ok.load(), 0);
  EXPECT_FALSE(runtime.SubmitTo(0, [] {}));
}

TEST(EpollLoopLifecycleTest, NeverStartedEpollRuntimeDestroysCleanly) {
  Runtime runtime(RuntimeOptions{.shards = 2, .loop = LoopMode::kEpoll});
  EXPECT_EQ(runtime.size(), 2u);
}

}  // namespace
}  // namespace percore::runtime
