#pragma once
// Threading contract: driven from the test's thread; Run's fn, SnapshotWhile's step and
// `in_flight` are on the shard's thread.
//
// A durable service (InventoryService, PaymentService: Recover, StartShard, CloseJournals, and a
// StoreJournal named `journal` in its shard part) on a one-shard runtime, for tests of snapshots
// while serving: recovery and start, calls counted until answered, a snapshot with a step queued
// behind each of its chunks (so writes run between them), and a stop that closes the journals.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "core/durability/durability_config.h"
#include "core/durability/shard_log.h"
#include "core/runtime/runtime.h"
#include "tests/testing/run_on_shard.h"

namespace percore::testing {

// A data directory under --fsync no whose snapshots are taken only when the test asks.
inline durability::DurabilityConfig ManualSnapshotConfig(const std::string& data_dir) {
  durability::DurabilityConfig config;
  config.data_dir = data_dir;
  config.fsync = durability::FsyncPolicy::kNo;
  config.snapshot = {};
  return config;
}

template <class Service>
class OneShardService {
 public:
  explicit OneShardService(std::unique_ptr<Service> service) : service_(std::move(service)) {
    service_->SetShardCount(1);
    std::string report;
    Status recovered = service_->Recover(1, &report);
    EXPECT_TRUE(recovered.ok()) << recovered.message();
    runtime_.Start();
    Run([&] {
      service_->StartShard(runtime_.shard(0));
      return 0;
    });
  }
  ~OneShardService() { Stop(); }

  // Stops the shard and closes the journals (what a clean stop does), once.
  void Stop() {
    if (!running_) return;
    runtime_.Stop();
    service_->CloseJournals();
    running_ = false;
  }
  Service& service() { return *service_; }
  // Shard thread: the service's part on the shard.
  auto& shard() { return service_->shards().local(); }
  template <class Fn>
  auto Run(Fn fn) {
    return RunOnShard(runtime_, 0, std::move(fn));
  }
  // Waits until every counted call was answered.
  void WaitIdle() {
    while (Run([&] { return in_flight; }) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  // Takes a snapshot while `step` runs as a task of its own again and again until it is in
  // place; waits for that and for the calls to be answered. How many steps ran meanwhile.
  int SnapshotWhile(std::function<void()> step) {
    std::promise<Status> done;
    int steps = 0;
    std::function<void()> chain = [&] {
      if (!shard().journal.snapshotter()->running()) return;
      ++steps;
      step();
      runtime_.shard(0).Submit([&] { chain(); });
    };
    Run([&] {
      Status started = shard().journal.snapshotter()->SnapshotNow(
          [&](const Status& status) { done.set_value(status); });
      EXPECT_TRUE(started.ok()) << started.message();
      runtime_.shard(0).Submit([&] { chain(); });
      return 0;
    });
    Status status = done.get_future().get();
    EXPECT_TRUE(status.ok()) << status.message();
    WaitIdle();
    return steps;
  }
  durability::LogStats stats() {
    return Run([&] { return *shard().journal.stats(); });
  }

  int in_flight = 0;  // shard thread: calls not yet answered

 private:
  std::unique_ptr<Service> service_;
  runtime::Runtime runtime_{{.shards = 1, .pin = false}};
  bool running_ = true;
};

}  // namespace percore::testing
