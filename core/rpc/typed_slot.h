#pragma once
// Threading contract: see method_slot.h (one slot per method per shard, on that shard's thread).
//
// The libgrpc slot of one method: PostOne() allocates the method's call data (Data: one of
// grpc_*_call.h with the method's message types), which posts its request and, once matched,
// starts the handler through the slot's MethodEntry.

#include "core/rpc/method_slot.h"

namespace percore::rpc {

template <class Data>
class TypedSlot final : public MethodSlot {
 public:
  using MethodSlot::MethodSlot;
  void PostOne() override { new Data(*this); }  // it frees itself (call_core.h)
};

}  // namespace percore::rpc
