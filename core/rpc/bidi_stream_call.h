#pragma once
// Threading contract: see call_handle.h; every BidiStream method on the call's shard.
//
// Bidirectional streaming: reading and writing independently, each with its own rules
// (call_ops.h); Finish ends the stream after the queued writes.
//
// Transport-independent: the handle talks to its call through BidiStreamOps<Req, Resp>
// (call_ops.h), which libgrpc's call data (grpc_bidi_stream_call.h) and any other transport
// implement.

#include "core/rpc/handle_methods.h"

namespace percore::rpc {

// The handler's handle to a bidi call. Copyable; the call stays alive while a handle exists.
template <class Req, class Resp>
class BidiStream final
    : public WriteMethods<ReadMethods<TypedCallHandle<BidiStreamOps<Req, Resp>>, Req>, Resp> {
 public:
  using BidiStream::WriteMethods::WriteMethods;
};

}  // namespace percore::rpc
