// RemoteUserClient against the real UserService of a percore server on a loopback port, called
// from the shard of a separate caller runtime.

#include "services/remote/remote_user_client.h"

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/services/remote/remote_test_support.h"
#include "tests/testing/server_fixture.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::remote_test {
namespace {

using ::grpc::StatusCode;
using ::percore::remote::RemotePeer;
using ::percore::remote::RemoteUserClient;
using ::percore::testing::ServerFixture;

class RemoteUserClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerFixture>(ServerFixture::CatalogServices({"user"}));
    ASSERT_TRUE(server_->Start().ok());
    std::string error;
    peer_ = RemotePeer::Create(RemoteUserClient::Options({server_->address()}), &error);
    ASSERT_NE(peer_, nullptr) << error;
    client_ = std::make_shared<RemoteUserClient>(peer_);
    caller_ =
        std::make_unique<runtime::Runtime>(runtime::RuntimeOptions{.shards = 2, .pin = false});
    caller_->Start();
  }
  void TearDown() override {
    if (caller_) caller_->Stop();
  }

  std::optional<Outcome<user::v1::User>> GetUser(runtime::ShardId shard, const std::string& id) {
    return CallOn<user::v1::User>(*caller_, shard, [this, id](auto done) {
      user::v1::GetUserRequest request;
      request.set_id(id);
      clients::CallOptions options{.deadline = std::chrono::system_clock::now() + 20s};
      client_->GetUser(request, options, std::move(done));
    });
  }

  std::unique_ptr<ServerFixture> server_;
  std::shared_ptr<RemotePeer> peer_;
  std::shared_ptr<RemoteUserClient> client_;
  std::unique_ptr<runtime::Runtime> caller_;
};

TEST_F(RemoteUserClientTest, GetsAUserCreatedOverTheWire) {
  auto stub = server_->MakeStub<user::v1::UserService>();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  user::v1::CreateUserRequest create;
  create.set_name("Ada");
  create.set_email("ada@example.com");
  user::v1::User created;
  ASSERT_TRUE(stub->CreateUser(&context, create, &created).ok());

  for (runtime::ShardId shard : {0u, 1u}) {
    auto outcome = GetUser(shard, created.id());
    ASSERT_TRUE(outcome);
    ASSERT_TRUE(outcome->status.ok()) << outcome->status.error_message();
    EXPECT_EQ(outcome->response.SerializeAsString(), created.SerializeAsString());
    EXPECT_TRUE(outcome->on_calling_shard);
  }
}

TEST_F(RemoteUserClientTest, UnknownUserIsNotFoundAndMalformedIdInvalid) {
  auto unknown = GetUser(0, "01890a5d-ac96-774b-bcce-b302099a8057");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status.error_code(), StatusCode::NOT_FOUND);
  auto malformed = GetUser(1, "nope");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status.error_code(), StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace percore::remote_test
