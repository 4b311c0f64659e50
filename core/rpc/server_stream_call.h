#pragma once
// Threading contract: see call_handle.h; every ServerStream method on the call's shard.
//
// Server streaming: the request arrives with the call; the handler writes any number of
// messages (bounded queue, OnWritable backpressure) and then Finish()es.
//
// Transport-independent: the handle talks to its call through ServerStreamOps<Req, Resp>
// (call_ops.h), which libgrpc's call data (grpc_server_stream_call.h) and any other transport
// implement.

#include "core/rpc/handle_methods.h"

namespace percore::rpc {

// The handler's handle to a server-streaming call. Copyable; the call stays alive while a handle
// exists.
template <class Req, class Resp>
class ServerStream final : public WriteMethods<TypedCallHandle<ServerStreamOps<Req, Resp>>, Resp> {
 public:
  using ServerStream::WriteMethods::WriteMethods;
  const Req& request() const { return this->ops().request(); }
};

}  // namespace percore::rpc
