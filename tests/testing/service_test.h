#pragma once
// Threading contract: a ServiceTest is driven from the test's main thread (gtest's SetUp, the
// test body, TearDown). Stubs it hands out may be used from worker threads the test starts, each
// its own (NewStub) or the shared one; they must be joined before TearDown.
//
// The fixture every end-to-end suite starts from: a real percore server (ServerFixture, port 0)
// hosting the services the suite names, and a stub of the service under test on it. A suite
// says which services (MakeServices) and, when it must, how the server is set up
// (FixtureOptions); everything else is common.
//
//   class UserServiceTest : public testing::ServiceTest<v1::UserService> {
//     Services MakeServices() override { return ServerFixture::CatalogServices({"user"}); }
//   };

#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/rpc/call_base.h"
#include "tests/testing/server_fixture.h"

namespace percore::testing {

template <class Service>
class ServiceTest : public ::testing::Test {
 protected:
  using Services = ServerFixture::Services;
  using Stub = typename Service::Stub;

  // The registrations the server hosts (called once per test, in SetUp).
  virtual Services MakeServices() = 0;
  // Shards, pinning and server options; 2 floating shards unless a suite says otherwise.
  virtual ServerFixtureOptions FixtureOptions() { return {}; }

  void SetUp() override {
    server_ = std::make_unique<ServerFixture>(MakeServices(), FixtureOptions());
    grpc::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error_message();
    ASSERT_GT(server_->port(), 0);
    stub_ = server_->MakeStub<Service>();
  }

  void TearDown() override {
    stubs_.clear();
    stub_.reset();
    server_.reset();  // Shutdown(0) and join the shards
  }

  // A stub on its own connection (connections spread calls over the shards).
  std::unique_ptr<Stub> NewStub() { return server_->MakeStub<Service>(server_->NewChannel()); }

  // Opens `n` connections for StubFor(): call from SetUp, before any thread uses them.
  void OpenConnections(int n) {
    for (int i = 0; i < n; ++i) stubs_.push_back(NewStub());
  }
  // Call i's stub: the connections taken in turn, so concurrent calls spread over the shards.
  Stub& StubFor(int i) { return *stubs_[static_cast<size_t>(i) % stubs_.size()]; }

  std::unique_ptr<ServerFixture> server_;
  std::unique_ptr<Stub> stub_;
  std::vector<std::unique_ptr<Stub>> stubs_;  // OpenConnections()
};

// A ServiceTest that proves no call leaks: when a test ends (unless it shut the server down
// itself) every call it made has been freed, and after shutdown not even a posted request
// remains (the server's own count of call objects).
template <class Service>
class CallsFreedTest : public ServiceTest<Service> {
 protected:
  void TearDown() override {
    auto& server = this->server_;
    if (server && !server->shut_down() && !this->IsSkipped()) {
      EXPECT_TRUE(server->WaitUntilNoCalls(std::chrono::seconds(5)));
    }
    if (server) {
      server->Shutdown(std::chrono::milliseconds(0));  // join the shards
      EXPECT_EQ(server->live_call_objects(), 0) << "shutdown left call objects";
    }
    ServiceTest<Service>::TearDown();
  }
};

}  // namespace percore::testing
