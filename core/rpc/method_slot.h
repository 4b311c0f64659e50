#pragma once
// Threading contract: one MethodSlot per method per shard, used only on that shard's thread.
//
// What a call object needs to know about its method: the shard, the raw service and method
// index to request with, the limits; and how to post one more request (PostOne), which every
// call does as soon as it has been matched, so the number of posted requests stays constant.

#include "core/rpc/call_limits.h"
#include "core/rpc/raw_service.h"
#include "core/runtime/shard.h"

namespace percore::rpc {

class MethodSlot {
 public:
  MethodSlot(runtime::Shard& shard, RawService& service, int index, const CallLimits& limits)
      : shard_(shard),
        service_(service),
        index_(index),
        limits_(limits),
        // Health checks must answer while the server sheds load (admission.h).
        exempt_from_shedding_(service.full_name() == "grpc.health.v1.Health") {}
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
  const std::string& method_name() const { return service_.descriptor()->method(index_)->name(); }

 private:
  runtime::Shard& shard_;
  RawService& service_;
  int index_;
  const CallLimits& limits_;
  const bool exempt_from_shedding_;
};

}  // namespace percore::rpc
