// grpc.health.v1.Health served by percore, driven over loopback by the real gRPC C++ client:
// Check answers per service, Watch streams the current status and its change when shutdown
// begins, and watches end cleanly.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/rpc/call_base.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/server_fixture.h"

namespace percore::health {
namespace {

using ::grpc::ClientContext;
using ::grpc::Status;
using ::grpc::StatusCode;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::percore::testing::ServerFixture;
using namespace std::chrono_literals;

constexpr char kTestService[] = "grpc.testing.TestService";

void SetDeadline(ClientContext& context, std::chrono::milliseconds timeout = 20s) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

HealthCheckRequest For(const std::string& service) {
  HealthCheckRequest request;
  request.set_service(service);
  return request;
}

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerFixture>(ServerFixture::CatalogServices({"interop"}));
    grpc::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error_message();
    stub_ = server_->MakeStub<Health>();
  }

  // Every call a test made is freed, and after shutdown not even a posted request remains.
  void TearDown() override {
    if (server_ && !server_->shut_down()) {
      EXPECT_TRUE(server_->WaitUntilNoCalls(5s));
    }
    stub_.reset();
    if (server_) {
      server_->Shutdown(0ms);  // join the shards
      EXPECT_EQ(server_->live_call_objects(), 0) << "shutdown left call objects";
    }
    server_.reset();
  }

  Status Check(const std::string& service, HealthCheckResponse* response) {
    ClientContext context;
    SetDeadline(context);
    return stub_->Check(&context, For(service), response);
  }

  std::unique_ptr<ServerFixture> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(HealthTest, CheckWholeServerIsServing) {
  HealthCheckResponse response;
  Status status = Check("", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(HealthTest, CheckHostedServiceIsServing) {
  for (const char* service : {kTestService, "grpc.health.v1.Health"}) {
    HealthCheckResponse response;
    Status status = Check(service, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
}

TEST_F(HealthTest, CheckUnknownServiceIsNotFound) {
  HealthCheckResponse response;
  Status status = Check("no.such.Service", &response);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND) << status.error_message();
}

TEST_F(HealthTest, CheckDuringDrainIsRefused) {
  server_->host().BeginDrain();
  HealthCheckResponse response;
  Status status = Check("", &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(HealthTest, WatchGetsServingThenNotServingOnDrainThenEnds) {
  ClientContext context;
  SetDeadline(context);
  auto reader = stub_->Watch(&context, For(""));
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  server_->host().BeginDrain();

  ASSERT_TRUE(reader->Read(&response)) << "no status change on drain";
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(reader->Read(&response)) << "the watch did not end";
  Status status = reader->Finish();
  // health_handler.h: watches end with UNAVAILABLE ("server is shutting down").
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(HealthTest, EveryWatcherOnEveryShardSeesTheDrain) {
  // Several connections, so the watches land on both shards.
  constexpr int kWatchers = 8;
  struct Watcher {
    std::unique_ptr<Health::Stub> stub;
    ClientContext context;
    std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;
  };
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    auto w = std::make_unique<Watcher>();
    w->stub = server_->MakeStub<Health>(server_->NewChannel());
    SetDeadline(w->context);
    w->reader = w->stub->Watch(&w->context, For(i % 2 ? kTestService : ""));
    HealthCheckResponse response;
    ASSERT_TRUE(w->reader->Read(&response)) << "watcher " << i;
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << "watcher " << i;
    watchers.push_back(std::move(w));
  }

  server_->host().BeginDrain();

  for (int i = 0; i < kWatchers; ++i) {
    HealthCheckResponse response;
    ASSERT_TRUE(watchers[i]->reader->Read(&response)) << "watcher " << i;
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING) << "watcher " << i;
    EXPECT_FALSE(watchers[i]->reader->Read(&response)) << "watcher " << i;
    EXPECT_FALSE(watchers[i]->reader->Finish().ok()) << "watcher " << i;
  }
}

TEST_F(HealthTest, WatchUnknownServiceIsServiceUnknown) {
  {
    ClientContext context;
    SetDeadline(context);
    auto reader = stub_->Watch(&context, For("no.such.Service"));
    HealthCheckResponse response;
    ASSERT_TRUE(reader->Read(&response));
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
    // The watch stays open (health.proto); the client gives up on it.
    context.TryCancel();
    EXPECT_FALSE(reader->Read(&response));
    Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), StatusCode::CANCELLED) << status.error_message();
  }
  // A cancelled watch frees its call.
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
}

TEST_F(HealthTest, ShutdownEndsOpenWatchesQuickly) {
  ClientContext context;
  SetDeadline(context);
  auto reader = stub_->Watch(&context, For(""));
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));

  constexpr auto kGrace = 5s;
  auto begin = std::chrono::steady_clock::now();
  server_->Shutdown(kGrace);
  auto took = std::chrono::steady_clock::now() - begin;
  // OnDrain ends every watch, so the server need not wait out the grace period for them.
  EXPECT_LT(took, kGrace) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";

  while (reader->Read(&response)) {
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  }
  EXPECT_FALSE(reader->Finish().ok());
}

}  // namespace
}  // namespace percore::health
