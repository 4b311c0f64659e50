#pragma once
// Threading contract: see call_handle.h; every ClientStream method on the call's shard.
//
// Client streaming: the handler sets OnRead/OnReadsDone and answers once with Finish(response)
// or Finish(status), usually from OnReadsDone.
//
// Transport-independent: the handle talks to its call through ClientStreamOps<Req, Resp>
// (call_ops.h), which libgrpc's call data (grpc_client_stream_call.h) and any other transport
// implement.

#include "core/rpc/handle_methods.h"

namespace percore::rpc {

// The handler's handle to a client-streaming call. Copyable; the call stays alive while a handle
// exists.
template <class Req, class Resp>
class ClientStream final
    : public RespondMethods<ReadMethods<TypedCallHandle<ClientStreamOps<Req, Resp>>, Req>, Resp> {
 public:
  using ClientStream::RespondMethods::RespondMethods;
};

}  // namespace percore::rpc
