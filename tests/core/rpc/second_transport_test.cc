// The handlers are not tied to libgrpc: the real services, on a real server's shards, served
// through an in-process transport (tests/testing/in_memory_transport.h: the shape interfaces of
// core/rpc/call_ops.h over in-memory buffers, no socket, no libgrpc call object) that finds each
// method in the shard's method table by its path, as a second transport would. Unary
// (GetUser, CreateUser), server streaming (ListUsers, with the bounded queue filling), bidi
// (OrderService.ChatSession) and a cancelled watch; answers, error statuses and the freeing of
// every call object (LiveMemoryCalls back to zero). The same handler objects also serve libgrpc
// in the same process, and a user created through one transport is read through the other.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rpc/grpc_status.h"
#include "order/v1/order.pb.h"
#include "tests/testing/client_call.h"
#include "tests/testing/in_memory_calls.h"
#include "tests/testing/run_on_shard.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/service_test.h"
#include "tests/testing/status_matchers.h"
#include "user/v1/user.grpc.pb.h"

namespace percore {
namespace {

using namespace std::chrono_literals;
using testing::MemoryCallResult;
namespace uv1 = ::user::v1;
namespace ov1 = ::order::v1;

// Every service of the catalog on a real server; calls started straight on its method tables.
class SecondTransportTest : public testing::ServiceTest<::user::v1::UserService> {
 protected:
  Services MakeServices() override {
    return testing::ServerFixture::CatalogServices({"user", "inventory", "payment", "order"});
  }
  void TearDown() override {
    // Every in-memory call object was freed (the handles and the transport let go).
    EXPECT_TRUE(testing::WaitFor([] { return testing::LiveMemoryCalls() == 0; }, 10s))
        << testing::LiveMemoryCalls() << " in-memory call objects still alive";
    ServiceTest::TearDown();
  }

  // Starts `path` on `shard` through the shard's method table; the result as the client
  // saw it once the call is over (nullopt: no such method, or it never ended).
  template <class CallT, class Req>
  std::optional<MemoryCallResult> Call(runtime::ShardId shard, const std::string& path,
                                       std::vector<Req> messages,
                                       testing::MemoryCallOptions options = {}) {
    std::shared_ptr<MemoryCallResult> result = Start<CallT>(shard, path, messages, options);
    if (!result) return std::nullopt;
    return WaitUntilOver(shard, result);
  }

  template <class CallT, class Req>
  std::shared_ptr<MemoryCallResult> Start(runtime::ShardId shard, const std::string& path,
                                          const std::vector<Req>& messages,
                                          testing::MemoryCallOptions options = {}) {
    return testing::RunOnShard(server_->runtime(), shard, [&] {
      const rpc::MethodEntry* entry = server_->host().methods(shard).Find(path);
      if (entry == nullptr) return std::shared_ptr<MemoryCallResult>();
      return testing::StartMemoryCall<CallT>(server_->runtime().shard(shard), *entry, messages,
                                             options);
    });
  }

  // A copy of `result`, taken on its shard, once the call is over.
  std::optional<MemoryCallResult> WaitUntilOver(runtime::ShardId shard,
                                                const std::shared_ptr<MemoryCallResult>& result) {
    std::optional<MemoryCallResult> seen;
    testing::WaitFor(
        [&] {
          seen = testing::RunOnShard(server_->runtime(), shard, [&] {
            return result->status ? std::optional<MemoryCallResult>(*result) : std::nullopt;
          });
          return seen.has_value();
        },
        10s);
    return seen;
  }

  uv1::User CreateUser(runtime::ShardId shard, const std::string& name) {
    uv1::CreateUserRequest request;
    request.set_name(name);
    request.set_email(name + "@example.com");
    auto created = Call<testing::MemoryUnaryCall<uv1::CreateUserRequest, uv1::User>>(
        shard, "/user.v1.UserService/CreateUser", std::vector{request});
    EXPECT_TRUE(created && created->status->ok());
    return created ? created->message<uv1::User>(0) : uv1::User();
  }
};

using GetUser = testing::MemoryUnaryCall<uv1::GetUserRequest, uv1::User>;

uv1::GetUserRequest GetUserRequest(const std::string& id) {
  uv1::GetUserRequest request;
  request.set_id(id);
  return request;
}

TEST_F(SecondTransportTest, MethodTableFindsEveryHostedMethodByPath) {
  testing::RunOnShard(server_->runtime(), 1, [&] {
    const rpc::MethodTable& table = server_->host().methods(1);
    const rpc::MethodEntry* get = table.Find("/user.v1.UserService/GetUser");
    EXPECT_NE(get, nullptr);
    if (get) EXPECT_EQ(get->shape(), rpc::CallShape::kUnary);
    const rpc::MethodEntry* list = table.Find("/user.v1.UserService/ListUsers");
    if (list) EXPECT_EQ(list->shape(), rpc::CallShape::kServerStream);
    const rpc::MethodEntry* chat = table.Find("/order.v1.OrderService/ChatSession");
    if (chat) EXPECT_EQ(chat->shape(), rpc::CallShape::kBidi);
    EXPECT_NE(list, nullptr);
    EXPECT_NE(chat, nullptr);
    EXPECT_EQ(table.Find("/user.v1.UserService/NoSuchMethod"), nullptr);
    return 0;
  });
}

TEST_F(SecondTransportTest, GetUserServedInMemoryAndOverLibgrpcBySameHandlers) {
  uv1::User ada = CreateUser(0, "ada");
  ASSERT_FALSE(ada.id().empty());
  for (runtime::ShardId shard : {0u, 1u}) {
    auto got =
        Call<GetUser>(shard, "/user.v1.UserService/GetUser", std::vector{GetUserRequest(ada.id())});
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(got->status->ok()) << got->status->message();
    ASSERT_EQ(got->messages.size(), 1u);
    EXPECT_EQ(got->message<uv1::User>(0).SerializeAsString(), ada.SerializeAsString());
  }
  // The user created in memory, read over the wire with the real gRPC client.
  auto stub = server_->MakeStub<uv1::UserService>();
  grpc::ClientContext context;
  testing::SetDeadline(context);
  uv1::User over_grpc;
  grpc::Status status = stub->GetUser(&context, GetUserRequest(ada.id()), &over_grpc);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(over_grpc.email(), "ada@example.com");
}

TEST_F(SecondTransportTest, ErrorStatusesComeFromTheHandlers) {
  CreateUser(0, "grace");
  auto missing = Call<GetUser>(0, "/user.v1.UserService/GetUser",
                               std::vector{GetUserRequest("0190b6a4-7c2e-7000-8000-000000000000")});
  ASSERT_TRUE(missing.has_value());
  EXPECT_TRUE(testing::HasCode(rpc::ToGrpcStatus(*missing->status), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(missing->messages.empty());

  auto bad_id = Call<GetUser>(1, "/user.v1.UserService/GetUser", std::vector{GetUserRequest("x")});
  ASSERT_TRUE(bad_id.has_value());
  EXPECT_TRUE(testing::IsInvalidArgumentNaming(rpc::ToGrpcStatus(*bad_id->status), "id"));

  uv1::CreateUserRequest bad_email;
  bad_email.set_name("someone");
  bad_email.set_email("not an email");
  auto refused = Call<testing::MemoryUnaryCall<uv1::CreateUserRequest, uv1::User>>(
      0, "/user.v1.UserService/CreateUser", std::vector{bad_email});
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(testing::IsInvalidArgumentNaming(rpc::ToGrpcStatus(*refused->status), "email"));
}

TEST_F(SecondTransportTest, ListUsersStreamsThroughTheBoundedQueue) {
  std::vector<std::string> ids;
  for (int i = 0; i < 9; ++i) ids.push_back(CreateUser(i % 2, "user" + std::to_string(i)).id());
  std::sort(ids.begin(), ids.end());
  using List = testing::MemoryServerStreamCall<uv1::ListUsersRequest, uv1::User>;
  uv1::ListUsersRequest request;
  request.set_page_size(6);
  // A queue of 2: the stream fills it again and again and resumes on OnWritable.
  auto page =
      Call<List>(1, "/user.v1.UserService/ListUsers", std::vector{request}, {.queue_capacity = 2});
  ASSERT_TRUE(page.has_value());
  ASSERT_TRUE(page->status->ok()) << page->status->message();
  ASSERT_EQ(page->messages.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(page->message<uv1::User>(i).id(), ids[i]);
  EXPECT_EQ(page->trailing_metadata.count("next-page-token"), 1u);

  request.set_page_size(0);
  request.set_page_token("not a token");
  auto refused = Call<List>(0, "/user.v1.UserService/ListUsers", std::vector{request});
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(
      testing::HasCode(rpc::ToGrpcStatus(*refused->status), grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(SecondTransportTest, ChatSessionAnswersEachMessageInOrder) {
  using Chat = testing::MemoryBidiCall<ov1::ChatMessage, ov1::ChatResponse>;
  std::vector<ov1::ChatMessage> messages(3);
  messages[0].set_message_id(7);
  messages[0].set_text("help");
  messages[1].set_message_id(8);
  messages[1].set_text("status 0190b6a4-7c2e-7000-8000-000000000000");
  messages[2].set_message_id(9);
  messages[2].set_text("what?");
  auto chat = Call<Chat>(0, "/order.v1.OrderService/ChatSession", messages);
  ASSERT_TRUE(chat.has_value());
  ASSERT_TRUE(chat->status->ok()) << chat->status->message();
  ASSERT_EQ(chat->messages.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(chat->message<ov1::ChatResponse>(i).in_reply_to(), messages[i].message_id());
  }
  EXPECT_NE(chat->message<ov1::ChatResponse>(0).text().find("status <order id>"),
            std::string::npos);
}

TEST_F(SecondTransportTest, CancelledWatchRunsOnCancelAndIsFreed) {
  using Watch = testing::MemoryServerStreamCall<uv1::WatchUserRequest, uv1::UserUpdate>;
  auto watch = Start<Watch>(1, "/user.v1.UserService/WatchUserUpdates",
                            std::vector{uv1::WatchUserRequest()});
  ASSERT_TRUE(watch);
  // Registered on every shard: the initial metadata tells the client.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return testing::RunOnShard(server_->runtime(), 1,
                                   [&] { return watch->initial_metadata_sent; });
      },
      10s));
  uv1::User lin = CreateUser(0, "lin");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return testing::RunOnShard(server_->runtime(), 1, [&] { return !watch->messages.empty(); });
      },
      10s));
  testing::RunOnShard(server_->runtime(), 1, [&] {
    EXPECT_EQ(watch->message<uv1::UserUpdate>(0).user().id(), lin.id());
    watch->call->Cancel();
    return 0;
  });
  auto over = WaitUntilOver(1, watch);
  ASSERT_TRUE(over.has_value());
  EXPECT_TRUE(over->cancelled);
  // The handler dropped the watch (its OnCancel ran), so its handle, so the call object.
  EXPECT_TRUE(testing::WaitFor([] { return testing::LiveMemoryCalls() == 0; }, 10s));
}

TEST_F(SecondTransportTest, WrongMessageTypesAreRefusedInternal) {
  using Wrong = testing::MemoryUnaryCall<uv1::DeleteUserRequest, uv1::User>;
  auto wrong =
      Call<Wrong>(0, "/user.v1.UserService/GetUser", std::vector{uv1::DeleteUserRequest()});
  ASSERT_TRUE(wrong.has_value());
  EXPECT_TRUE(testing::HasCode(rpc::ToGrpcStatus(*wrong->status), grpc::StatusCode::INTERNAL));
}

}  // namespace
}  // namespace percore
