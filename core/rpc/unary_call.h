#pragma once
// Threading contract: see call_handle.h; every UnaryCall method on the call's shard.
//
// A unary call: one request, one answer (Finish or FinishRaw), once.
//
// Transport-independent: the handle talks to its call through UnaryOps<Req, Resp> (call_ops.h),
// which libgrpc's call data (grpc_unary_call.h) and any other transport implement.

#include "core/rpc/handle_methods.h"

namespace percore::rpc {

// The handler's handle to a unary call. Copyable; the call stays alive while a handle exists.
template <class Req, class Resp>
class UnaryCall final : public RespondMethods<TypedCallHandle<UnaryOps<Req, Resp>>, Resp> {
 public:
  using UnaryCall::RespondMethods::RespondMethods;
  const Req& request() const { return this->ops().request(); }
};

}  // namespace percore::rpc
