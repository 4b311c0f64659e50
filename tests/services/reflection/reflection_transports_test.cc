// Reflection is an ordinary percore registration: the same handlers answer through the shards'
// method tables from an in-memory transport (no libgrpc call object, as the native transport
// reaches them) and over libgrpc; ServerOptions::reflection false leaves it out. (The in-memory
// client drains after each read, so its queue never fills here: tests/system/reflection_python
// fills libgrpc's.)

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/testing/in_memory_calls.h"
#include "tests/testing/run_on_shard.h"
#include "tests/testing/server_fixture.h"

namespace percore {
namespace {

using namespace std::chrono_literals;
namespace v1 = ::grpc::reflection::v1;
namespace v1alpha = ::grpc::reflection::v1alpha;

constexpr char kV1Path[] = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

std::vector<std::string> FileNames(const v1::ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

std::unique_ptr<testing::ServerFixture> StartServer(bool reflection) {
  testing::ServerFixtureOptions options;
  options.server.reflection = reflection;
  auto server = std::make_unique<testing::ServerFixture>(
      testing::ServerFixture::CatalogServices({"user"}), options);
  EXPECT_TRUE(server->Start().ok());
  return server;
}

TEST(ReflectionTransportsTest, InMemoryTransportGetsEveryAnswerInOrder) {
  auto server = StartServer(true);
  using Call = testing::MemoryBidiCall<v1::ServerReflectionRequest, v1::ServerReflectionResponse>;
  std::vector<v1::ServerReflectionRequest> requests(60);
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].set_host(std::to_string(i));
    if (i % 3 == 0) requests[i].set_file_containing_symbol("user.v1.UserService");
    if (i % 3 == 1) requests[i].set_list_services("");
    if (i % 3 == 2) requests[i].set_file_containing_symbol("no.such.Symbol");
  }
  auto result = testing::RunOnShard(server->runtime(), 1, [&] {
    const rpc::MethodEntry* entry = server->host().methods(1).Find(kV1Path);
    EXPECT_NE(entry, nullptr);
    return testing::StartMemoryCall<Call>(server->runtime().shard(1), *entry, requests, {});
  });
  std::optional<testing::MemoryCallResult> seen;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        seen = testing::RunOnShard(server->runtime(), 1, [&] {
          return result->status ? std::optional(*result) : std::nullopt;
        });
        return seen.has_value();
      },
      10s));
  ASSERT_TRUE(seen->status->ok()) << seen->status->message();
  ASSERT_EQ(seen->messages.size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    auto response = seen->message<v1::ServerReflectionResponse>(i);
    EXPECT_EQ(response.valid_host(), std::to_string(i));
    if (i % 3 == 2) {
      EXPECT_EQ(response.error_response().error_code(), 5);  // NOT_FOUND
    }
  }
  // user.proto and its three imports the first time; the file alone afterwards.
  EXPECT_EQ(FileNames(seen->message<v1::ServerReflectionResponse>(0)).size(), 4u);
  EXPECT_EQ(FileNames(seen->message<v1::ServerReflectionResponse>(3)),
            std::vector<std::string>{"user/v1/user.proto"});
  EXPECT_TRUE(testing::WaitFor([] { return testing::LiveMemoryCalls() == 0; }, 10s));
  server->Shutdown(0ms);
}

TEST(ReflectionTransportsTest, LibgrpcServesTheSameHandlers) {
  auto server = StartServer(true);
  auto stub = v1alpha::ServerReflection::NewStub(server->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  auto stream = stub->ServerReflectionInfo(&context);
  v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                       "grpc.reflection.v1alpha.ServerReflection", "user.v1.UserService"}));
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
  server->Shutdown(0ms);
}

TEST(ReflectionTransportsTest, ReflectionOffIsNotServed) {
  auto server = StartServer(false);
  EXPECT_EQ(testing::RunOnShard(server->runtime(), 0,
                                [&] { return server->host().methods(0).Find(kV1Path); }),
            nullptr);
  auto stub = v1alpha::ServerReflection::NewStub(server->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  auto stream = stub->ServerReflectionInfo(&context);
  stream->WritesDone();
  v1alpha::ServerReflectionResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  server->Shutdown(0ms);
}

}  // namespace
}  // namespace percore
