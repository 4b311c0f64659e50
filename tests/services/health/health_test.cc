// grpc.health.v1.Health served by percore, driven over loopback by the real gRPC C++ client:
// Check answers per service, Watch streams the current status and its change when shutdown
// begins, and watches end cleanly.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/e2e.h"

namespace percore::health {
namespace {

using namespace ::percore::testing::e2e;
using ::grpc::Status;
using ::grpc::StatusCode;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr char kTestService[] = "grpc.testing.TestService";

HealthCheckRequest For(const std::string& service) {
  HealthCheckRequest request;
  request.set_service(service);
  return request;
}

// A Health.Watch stream of `service` ("" for the whole server).
class HealthWatch : public ServerStream<HealthCheckResponse> {
 public:
  HealthWatch(Health::Stub& stub, const std::string& service)
      : ServerStream(stub, &Health::Stub::Watch, For(service), kCallTimeout) {}
};

// Every call a test made is freed, and after shutdown not even a posted request remains.
class HealthTest : public CallsFreedTest<Health> {
 protected:
  Services MakeServices() override { return ServerFixture::CatalogServices({"interop"}); }

  Status Check(const std::string& service, HealthCheckResponse* response) {
    return CallUnary(*stub_, &Health::Stub::Check, For(service), response);
  }
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
  HealthWatch watch(*stub_, "");
  std::optional<HealthCheckResponse> first = watch.Next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status(), HealthCheckResponse::SERVING);

  server_->host().BeginDrain();

  std::optional<HealthCheckResponse> change = watch.Next();
  ASSERT_TRUE(change) << "no status change on drain";
  EXPECT_EQ(change->status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch.Next()) << "the watch did not end";
  Status status = watch.Finish();
  // health_handler.h: watches end with UNAVAILABLE ("server is shutting down").
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(HealthTest, EveryWatcherOnEveryShardSeesTheDrain) {
  // Several connections, so the watches land on both shards.
  constexpr int kWatchers = 8;
  std::vector<std::unique_ptr<Health::Stub>> stubs;
  std::vector<std::unique_ptr<HealthWatch>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    stubs.push_back(NewStub());
    watchers.push_back(std::make_unique<HealthWatch>(*stubs.back(), i % 2 ? kTestService : ""));
    std::optional<HealthCheckResponse> first = watchers.back()->Next();
    ASSERT_TRUE(first) << "watcher " << i;
    EXPECT_EQ(first->status(), HealthCheckResponse::SERVING) << "watcher " << i;
  }

  server_->host().BeginDrain();

  for (int i = 0; i < kWatchers; ++i) {
    std::optional<HealthCheckResponse> change = watchers[i]->Next();
    ASSERT_TRUE(change) << "watcher " << i;
    EXPECT_EQ(change->status(), HealthCheckResponse::NOT_SERVING) << "watcher " << i;
    EXPECT_FALSE(watchers[i]->Next()) << "watcher " << i;
    EXPECT_FALSE(watchers[i]->Finish().ok()) << "watcher " << i;
  }
}

TEST_F(HealthTest, WatchUnknownServiceIsServiceUnknown) {
  {
    HealthWatch watch(*stub_, "no.such.Service");
    std::optional<HealthCheckResponse> first = watch.Next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status(), HealthCheckResponse::SERVICE_UNKNOWN);
    // The watch stays open (health.proto); the client gives up on it.
    watch.Cancel();
    EXPECT_FALSE(watch.Next());
    Status status = watch.Finish();
    EXPECT_EQ(status.error_code(), StatusCode::CANCELLED) << status.error_message();
  }
  // A cancelled watch frees its call.
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
}

TEST_F(HealthTest, ShutdownEndsOpenWatchesQuickly) {
  HealthWatch watch(*stub_, "");
  ASSERT_TRUE(watch.Next());

  constexpr auto kGrace = 5s;
  auto took = server_->TimedShutdown(kGrace);
  // OnDrain ends every watch, so the server need not wait out the grace period for them.
  EXPECT_LT(took, kGrace) << took.count() << " ms";

  while (std::optional<HealthCheckResponse> response = watch.Next()) {
    EXPECT_EQ(response->status(), HealthCheckResponse::NOT_SERVING);
  }
  EXPECT_FALSE(watch.Finish().ok());
}

}  // namespace
}  // namespace percore::health
