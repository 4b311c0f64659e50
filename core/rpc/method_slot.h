#pragma once
// Threading contract: one MethodSlot per method per shard, made and used only on that shard's
// thread.
//
// What a libgrpc call object needs to know about its method: the shard, the raw service and
// method index to request with, the limits, the method's entry (method_table.h: how the call
// reaches its handler); and how to post one more request (PostOne), which every call does as
// soon as it has been matched, so the number of posted requests stays constant.

#include <atomic>
#include <cstdint>

#include "core/rpc/call_limits.h"
#include "core/rpc/method_table.h"
#include "core/rpc/raw_service.h"
#include "core/runtime/shard.h"

namespace percore::rpc {

// Call objects alive on one shard (posted requests included), one per shard of the runtime the
// server runs on (Shard::Local), so each server counts its own: tests prove no path leaks, and
// parallel test processes or several servers cannot disturb the count. Written on the shard,
// read from any thread.
struct LiveCallObjects {
  explicit LiveCallObjects(runtime::Shard& /*shard*/) {}
  void Add(int64_t delta) { count.fetch_add(delta, std::memory_order_relaxed); }
  std::atomic<int64_t> count{0};
};

class MethodSlot {
 public:
  MethodSlot(runtime::Shard& shard, RawService& service, int index, const CallLimits& limits,
             const MethodEntry& entry)
      : shard_(shard),
        service_(service),
        index_(index),
        limits_(limits),
        // Health checks must answer while the server sheds load (admission.h).
        exempt_from_shedding_(service.full_name() == "grpc.health.v1.Health"),
        live_objects_(shard.Local<LiveCallObjects>()),
        entry_(entry) {}
  virtual ~MethodSlot() = default;
  MethodSlot(const MethodSlot&) = delete;
  MethodSlot& operator=(const MethodSlot&) = delete;

  // Allocates one call object and posts its request on this shard's queue.
  virtual void PostOne() = 0;
  void PostInitial() {
    for (int i = 0; i < limits_.requests_per_method; ++i) PostOne();
  }

  runtime::Shard& shard() { return shard_; }
  RawService& service() { return service_; }
  int index() const { return index_; }
  const CallLimits& limits() const { return limits_; }
  bool exempt_from_shedding() const { return exempt_from_shedding_; }
  LiveCallObjects& live_objects() { return live_objects_; }
  const MethodEntry& entry() const { return entry_; }
  const std::string& method_name() const { return service_.descriptor()->method(index_)->name(); }

 private:
  runtime::Shard& shard_;
  RawService& service_;
  int index_;
  const CallLimits& limits_;
  const bool exempt_from_shedding_;
  LiveCallObjects& live_objects_;
  const MethodEntry entry_;
};

}  // namespace percore::rpc
