#pragma once
// Threading contract: see method_slot.h (one slot per method per shard, on that shard's thread).
//
// The slot of one method of any call shape: PostOne() allocates that shape's call data
// (Call::Data, which posts its request), and Invoke() hands the handler a Call handle.
// service_def.h binds Invoke to a handler's member function.

#include "core/rpc/method_slot.h"

namespace percore::rpc {

// The handles of the four call shapes (each in its *_call.h), the Call of a TypedSlot.
template <class Req, class Resp>
class UnaryCall;
template <class Req, class Resp>
class ServerStream;
template <class Req, class Resp>
class ClientStream;
template <class Req, class Resp>
class BidiStream;

template <class Call>
class TypedSlot : public MethodSlot {
 public:
  using MethodSlot::MethodSlot;
  void PostOne() override { new typename Call::Data(*this); }  // it frees itself (call_base.h)
  virtual void Invoke(Call call) = 0;
};

}  // namespace percore::rpc
