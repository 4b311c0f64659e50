#pragma once
// Threading contract: a FakeInventory's counters are atomics, read by the test thread and written
// by the server's shards; its held calls are per shard (each handler holds its own). CallOn() is
// called from the test thread and runs the call on a shard of the caller's runtime.
//
// What the remote-client tests share: a scriptable inventory.v1.InventoryService served by a real
// percore server (counts calls, injects UNAVAILABLE, holds calls unanswered, records deadlines)
// and a way to issue a client call on a shard of a separate "caller" runtime and wait (bounded)
// for its `done`, noting which thread ran it.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/rpc/grpc_status.h"
#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "services/clients/call_options.h"

namespace percore::remote_test {

namespace inv = ::inventory::v1;
using namespace std::chrono_literals;

// Bounds every wait in these tests; never asserted as a limit on how long something takes.
constexpr auto kWaitBound = 30s;

struct FakeInventoryState {
  std::string name;  // put in Product.name, so a caller sees which replica answered
  std::atomic<int> get_product{0};
  std::atomic<int> reserve_stock{0};
  std::atomic<int> adjust_stock{0};
  std::atomic<int> unavailable_left{0};   // the next N calls answer UNAVAILABLE
  std::atomic<bool> hold_reserve{false};  // ReserveStock never answers (until shutdown)
  std::mutex mutex;
  std::vector<std::chrono::system_clock::time_point> reserve_deadlines;  // guarded by mutex

  bool TakeInjectedFailure() {
    int left = unavailable_left.load();
    while (left > 0 && !unavailable_left.compare_exchange_weak(left, left - 1)) {
    }
    return left > 0;
  }
};

class FakeInventoryHandler {
 public:
  using Def = rpc::ServiceDef<FakeInventoryHandler>;
  explicit FakeInventoryHandler(FakeInventoryState* state) : state_(state) {}

  void GetProduct(rpc::UnaryCall<inv::GetProductRequest, inv::Product> call) {
    state_->get_product++;
    if (state_->TakeInjectedFailure()) {
      call.Finish(Status(StatusCode::kUnavailable, "injected"));
      return;
    }
    inv::Product product;
    product.set_sku(call.request().sku());
    product.set_name(state_->name);
    call.Finish(product);
  }

  void ReserveStock(rpc::UnaryCall<inv::ReserveStockRequest, inv::Reservation> call) {
    state_->reserve_stock++;
    {
      std::lock_guard lock(state_->mutex);
      state_->reserve_deadlines.push_back(call.deadline());
    }
    if (state_->TakeInjectedFailure()) {
      call.Finish(Status(StatusCode::kUnavailable, "injected"));
      return;
    }
    if (state_->hold_reserve) {
      held_.push_back(call);
      return;
    }
    inv::Reservation reservation;
    reservation.set_reservation_key(call.request().reservation_key());
    reservation.set_state(inv::Reservation::RESERVATION_STATE_HELD);
    call.Finish(reservation);
  }

  void AdjustStock(rpc::UnaryCall<inv::AdjustStockRequest, inv::Product> call) {
    state_->adjust_stock++;
    if (state_->TakeInjectedFailure()) {
      call.Finish(Status(StatusCode::kUnavailable, "injected"));
      return;
    }
    inv::Product product;
    product.set_sku(call.request().sku());
    product.set_stock(call.request().delta());
    call.Finish(product);
  }

  // Shutdown: answer what was held, so the server need not wait for it.
  void OnDrain() {
    for (auto& call : held_) call.Finish(Status(StatusCode::kUnavailable, "draining"));
    held_.clear();
  }

 private:
  FakeInventoryState* state_;
  std::vector<rpc::UnaryCall<inv::ReserveStockRequest, inv::Reservation>> held_;
};

inline std::shared_ptr<rpc::ServiceRegistration> MakeFakeInventory(FakeInventoryState* state) {
  auto def = std::make_shared<FakeInventoryHandler::Def>(
      rpc::FindServiceDescriptor("inventory.v1.InventoryService"),
      [state](runtime::Shard&) { return std::make_unique<FakeInventoryHandler>(state); });
  def->Unary("GetProduct", &FakeInventoryHandler::GetProduct);
  def->Unary("ReserveStock", &FakeInventoryHandler::ReserveStock);
  def->Unary("AdjustStock", &FakeInventoryHandler::AdjustStock);
  return def;
}

// What a client call's `done` saw.
template <class Resp>
struct Outcome {
  grpc::Status status;
  Resp response;
  bool on_calling_shard = false;  // done ran on the thread of the shard that issued the call
  int times_done = 0;             // how many times done ran (must be 1)
};

// Runs issue(done) on shard `id` of `runtime` and waits (bounded) for done. nullopt if it never
// ran within the bound.
template <class Resp, class Issue>
std::optional<Outcome<Resp>> CallOn(runtime::Runtime& runtime, runtime::ShardId id, Issue issue) {
  auto result = std::make_shared<std::promise<Outcome<Resp>>>();
  std::future<Outcome<Resp>> future = result->get_future();
  bool queued = runtime.SubmitTo(id, [result, issue = std::move(issue)]() mutable {
    runtime::Shard* home = runtime::Shard::Current();
    auto times = std::make_shared<int>(0);
    issue(clients::Done<Resp>([result, home, times](const Status& status, Resp response) {
      if (++*times > 1) {
        ADD_FAILURE() << "done ran twice";
        return;
      }
      result->set_value(Outcome<Resp>{rpc::ToGrpcStatus(status), std::move(response),
                                      runtime::Shard::Current() == home, *times});
    }));
  });
  if (!queued) return std::nullopt;
  if (future.wait_for(kWaitBound) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace percore::remote_test
