// The typed adapters made at registration (core/rpc/byte_calls.h): a transport that has only a
// path and bytes starts the real user and order handlers through MethodEntry::StartBytes over a
// fake ByteCall (bytes in, bytes out, no socket). Requests are parsed (garbage is
// INVALID_ARGUMENT), answers serialized, admission applies (draining: UNAVAILABLE), a unary call
// without its message is INTERNAL, a stream waits for OnWritable when the queue is full, a
// cancelled watch runs the handler's cancel path, an idle bidi stream is ended by
// --stream-idle-timeout (DEADLINE_EXCEEDED, or a reset when its reply sits unread); every call
// object and every fake ByteCall is freed (ServerHost::live_call_objects back to the posted
// requests, LiveFakes() to zero).

#include "core/rpc/byte_call.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "order/v1/order.pb.h"
#include "tests/testing/run_on_shard.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/service_test.h"
#include "user/v1/user.grpc.pb.h"

namespace percore {
namespace {

using namespace std::chrono_literals;
namespace uv1 = ::user::v1;
namespace ov1 = ::order::v1;

std::atomic<int64_t> live_fakes{0};

// What the client of a fake call saw; read on the call's shard.
struct FakeResult {
  std::vector<std::string> messages;
  std::optional<StatusCode> code;
  std::string message;
  bool reset = false;  // the server reset the stream (EndNow with unread messages)
};

class FakeByteCall final : public rpc::ByteCall {
 public:
  // reads_at_once: a client that reads every message as it is written (nothing stays queued).
  explicit FakeByteCall(std::shared_ptr<FakeResult> result, size_t capacity = 1000,
                        bool reads_at_once = false)
      : result_(std::move(result)), capacity_(capacity), reads_at_once_(reads_at_once) {
    ++live_fakes;
  }
  void Ref() override { ++refs_; }
  void Unref() override {
    if (--refs_ == 0) delete this;
  }
  void SetSink(rpc::ByteCallSink* sink) override { sink_ = sink; }
  std::optional<std::string_view> metadata(std::string_view) const override { return {}; }
  std::chrono::system_clock::time_point deadline() const override {
    return std::chrono::system_clock::time_point::max();
  }
  std::string_view peer() const override { return "fake:1"; }
  void Pause() override {}
  void Resume() override {}
  void AddInitialMetadata(std::string_view, std::string_view) override {}
  void SendInitialMetadata() override {}
  bool Write(std::string_view message) override {
    if (over() || !writable()) return false;
    result_->messages.emplace_back(message);
    if (!reads_at_once_) ++queued_;
    return true;
  }
  bool writable() const override { return queued_ < capacity_; }
  void RequestWritable() override {}
  void AddTrailingMetadata(std::string_view, std::string_view) override {}
  void Finish(StatusCode code, std::string_view message) override {
    if (over()) return;
    result_->code = code;
    result_->message = std::string(message);
  }
  void EndNow(StatusCode code, std::string_view message) override {
    if (queued_ == 0) {
      Finish(code, message);
    } else if (!over()) {
      result_->reset = true;
      Cancel();  // a reset: what the client has not read is dropped
    }
  }

  // The client's side.
  rpc::ByteCallSink* sink() const { return sink_; }
  void Drain() {  // the client read everything queued
    queued_ = 0;
    if (sink_) sink_->OnWritable();
  }
  void Cancel() {
    cancelled_ = true;
    if (sink_) sink_->OnCancel();
  }
  void Done() {  // the transport's last word; drops its own reference
    if (auto* sink = std::exchange(sink_, nullptr)) sink->OnDone();
    Unref();
  }

 private:
  ~FakeByteCall() { --live_fakes; }
  bool over() const { return cancelled_ || result_->code.has_value(); }

  std::shared_ptr<FakeResult> result_;
  size_t capacity_;
  bool reads_at_once_;
  size_t queued_ = 0;
  int refs_ = 1;  // the transport's own, until Done()
  bool cancelled_ = false;
  rpc::ByteCallSink* sink_ = nullptr;
};

// Every service of the catalog on a real server; calls started straight on its method tables.
class ByteCallTest : public testing::ServiceTest<::user::v1::UserService> {
 protected:
  Services MakeServices() override {
    return testing::ServerFixture::CatalogServices({"user", "inventory", "payment", "order"});
  }
  void TearDown() override {
    EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
    EXPECT_EQ(live_fakes.load(), 0);
    ServiceTest::TearDown();
  }

  // Starts `path` on shard 0 over a new fake; sends `messages` and (if `half_close`) the
  // half-close.
  FakeByteCall* Start(const std::string& path, std::vector<std::string> messages,
                      std::shared_ptr<FakeResult> result, bool half_close = true,
                      size_t capacity = 1000, bool reads_at_once = false) {
    return testing::RunOnShard(server_->runtime(), 0, [&] {
      auto* fake = new FakeByteCall(result, capacity, reads_at_once);
      const rpc::MethodEntry* entry = server_->host().methods(0).Find(path);
      EXPECT_NE(entry, nullptr) << path;
      entry->StartBytes(*fake, limits_);
      for (const std::string& m : messages) {
        if (fake->sink()) fake->sink()->OnBytes(m);
      }
      if (half_close && fake->sink()) fake->sink()->OnHalfClose();
      return fake;
    });
  }
  template <class Fn>
  auto OnShard(Fn fn) {
    return testing::RunOnShard(server_->runtime(), 0, std::move(fn));
  }
  // Waits until the fake's call is answered, then ends it on the wire.
  FakeResult Finish(FakeByteCall* fake, const std::shared_ptr<FakeResult>& result) {
    FakeResult seen;
    testing::WaitFor(
        [&] {
          return OnShard([&] {
            seen = *result;
            return seen.code.has_value();
          });
        },
        10s);
    OnShard([&] {
      fake->Done();
      return 0;
    });
    return seen;
  }

  rpc::CallLimits limits_;
};

TEST_F(ByteCallTest, UnaryParsesAndSerializesAndMapsErrors) {
  uv1::CreateUserRequest create;
  create.set_name("Ada");
  create.set_email("ada@example.com");
  auto result = std::make_shared<FakeResult>();
  FakeResult created = Finish(
      Start("/user.v1.UserService/CreateUser", {create.SerializeAsString()}, result), result);
  ASSERT_EQ(created.code, StatusCode::kOk) << created.message;
  ASSERT_EQ(created.messages.size(), 1u);
  uv1::User user;
  ASSERT_TRUE(user.ParseFromString(created.messages[0]));
  EXPECT_EQ(user.email(), "ada@example.com");

  uv1::GetUserRequest get;
  get.set_id(user.id());
  result = std::make_shared<FakeResult>();
  FakeResult got =
      Finish(Start("/user.v1.UserService/GetUser", {get.SerializeAsString()}, result), result);
  ASSERT_EQ(got.code, StatusCode::kOk);
  EXPECT_EQ(got.messages.at(0), created.messages[0]);

  result = std::make_shared<FakeResult>();
  FakeResult garbage = Finish(
      Start("/user.v1.UserService/GetUser", {std::string("\xff\xff\xff", 3)}, result), result);
  EXPECT_EQ(garbage.code, StatusCode::kInvalidArgument);
  EXPECT_EQ(garbage.message, "request is not a valid user.v1.GetUserRequest");

  result = std::make_shared<FakeResult>();
  FakeResult none = Finish(Start("/user.v1.UserService/GetUser", {}, result), result);
  EXPECT_EQ(none.code, StatusCode::kInternal);
  EXPECT_EQ(none.message, "GetUser needs a request message; the client sent none");
}

TEST_F(ByteCallTest, DrainingRefusesWithUnavailable) {
  OnShard([] {
    runtime::Shard::Current()->set_draining(true);
    return 0;
  });
  auto result = std::make_shared<FakeResult>();
  FakeResult refused = Finish(
      Start("/user.v1.UserService/GetUser", {uv1::GetUserRequest().SerializeAsString()}, result),
      result);
  EXPECT_EQ(refused.code, StatusCode::kUnavailable);
  OnShard([] {
    runtime::Shard::Current()->set_draining(false);
    return 0;
  });
}

TEST_F(ByteCallTest, StreamWaitsForWritableAndBidiAnswersEachMessage) {
  for (int i = 0; i < 5; ++i) {
    uv1::CreateUserRequest create;
    create.set_name("U" + std::to_string(i));
    create.set_email("u" + std::to_string(i) + "@example.com");
    auto r = std::make_shared<FakeResult>();
    ASSERT_EQ(
        Finish(Start("/user.v1.UserService/CreateUser", {create.SerializeAsString()}, r), r).code,
        StatusCode::kOk);
  }
  // Queue of 2: the handler stops at 2 until the client drains.
  auto result = std::make_shared<FakeResult>();
  FakeByteCall* list = Start("/user.v1.UserService/ListUsers",
                             {uv1::ListUsersRequest().SerializeAsString()}, result, true, 2);
  size_t total = 0;
  testing::WaitFor(
      [&] {
        return OnShard([&] {
          total = result->messages.size();
          if (!result->code) list->Drain();
          return result->code.has_value();
        });
      },
      10s);
  FakeResult listed = Finish(list, result);
  EXPECT_EQ(listed.code, StatusCode::kOk);
  EXPECT_GE(listed.messages.size(), 5u);

  std::vector<std::string> chat;
  for (int i = 1; i <= 3; ++i) {
    ov1::ChatMessage m;
    m.set_message_id(i);
    m.set_text("help");
    chat.push_back(m.SerializeAsString());
  }
  result = std::make_shared<FakeResult>();
  FakeResult replies = Finish(Start("/order.v1.OrderService/ChatSession", chat, result), result);
  EXPECT_EQ(replies.code, StatusCode::kOk) << replies.messages.size() << " replies";
  ASSERT_EQ(replies.messages.size(), 3u);
  ov1::ChatResponse last;
  ASSERT_TRUE(last.ParseFromString(replies.messages[2]));
  EXPECT_EQ(last.in_reply_to(), 3u);
}

TEST_F(ByteCallTest, CancelledWatchIsFreed) {
  uv1::CreateUserRequest create;
  create.set_name("W");
  create.set_email("w@example.com");
  auto r = std::make_shared<FakeResult>();
  FakeResult created =
      Finish(Start("/user.v1.UserService/CreateUser", {create.SerializeAsString()}, r), r);
  uv1::User user;
  ASSERT_TRUE(user.ParseFromString(created.messages.at(0)));
  uv1::WatchUserRequest watch;
  watch.set_user_id(user.id());
  auto result = std::make_shared<FakeResult>();
  FakeByteCall* fake =
      Start("/user.v1.UserService/WatchUserUpdates", {watch.SerializeAsString()}, result);
  EXPECT_GT(server_->live_call_objects(), server_->idle_call_objects());
  OnShard([&] {
    EXPECT_FALSE(result->code.has_value());  // a watch stays open
    fake->Cancel();
    fake->Done();
    return 0;
  });
}

TEST_F(ByteCallTest, IdleBidiStreamIsEndedDeadlineExceededOrResetWhenItsReplyIsUnread) {
  limits_.stream_idle_timeout = 50ms;
  ov1::ChatMessage m;
  m.set_message_id(1);
  m.set_text("help");
  // A client that read the reply, then went quiet without half-closing: trailers. It reads on
  // the shard as the reply is written (a read from this thread could come after the timeout).
  auto read = std::make_shared<FakeResult>();
  FakeByteCall* reader = Start("/order.v1.OrderService/ChatSession", {m.SerializeAsString()}, read,
                               /*half_close=*/false, /*capacity=*/1000, /*reads_at_once=*/true);
  FakeResult ended = Finish(reader, read);
  EXPECT_EQ(ended.messages.size(), 1u);
  EXPECT_EQ(ended.code, StatusCode::kDeadlineExceeded);
  EXPECT_NE(ended.message.find("--stream-idle-timeout"), std::string::npos) << ended.message;
  EXPECT_FALSE(ended.reset);

  // A client that never reads: its reply stays queued, so the stream is reset.
  auto unread = std::make_shared<FakeResult>();
  FakeByteCall* stuck = Start("/order.v1.OrderService/ChatSession", {m.SerializeAsString()}, unread,
                              /*half_close=*/false);
  testing::WaitFor([&] { return OnShard([&] { return unread->reset; }); }, 10s);
  OnShard([&] {
    EXPECT_FALSE(unread->code.has_value());
    stuck->Done();
    return 0;
  });
}

TEST_F(ByteCallTest, BidiStreamThatKeepsTalkingOutlivesTheIdleTimeout) {
  // Ten times the gap between messages: a stall of this thread (ASan on a loaded machine: over
  // a second seen) must not look like an idle client.
  limits_.stream_idle_timeout = 2s;
  ov1::ChatMessage m;
  m.set_message_id(1);
  m.set_text("help");
  auto busy = std::make_shared<FakeResult>();
  FakeByteCall* talker = Start("/order.v1.OrderService/ChatSession", {m.SerializeAsString()}, busy,
                               /*half_close=*/false);
  for (int i = 2; i <= 13; ++i) {  // 12 gaps of 200 ms: longer than the timeout in all
    std::this_thread::sleep_for(200ms);
    OnShard([&] {
      talker->Drain();
      m.set_message_id(i);
      if (talker->sink()) talker->sink()->OnBytes(m.SerializeAsString());
      return 0;
    });
  }
  OnShard([&] {
    EXPECT_FALSE(busy->code.has_value());
    EXPECT_FALSE(busy->reset);
    talker->sink()->OnHalfClose();
    return 0;
  });
  FakeResult talked = Finish(talker, busy);
  EXPECT_EQ(talked.code, StatusCode::kOk) << talked.message;
}

}  // namespace
}  // namespace percore
