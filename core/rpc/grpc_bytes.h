#pragma once
// Threading contract: pure functions; any thread. Used only inside core/rpc's libgrpc call data.
//
// SerializedMessage -> grpc::ByteBuffer without copying the payload: the slice points at the
// message's own bytes and holds one reference, released by libgrpc (on whichever thread drops
// the slice) through SerializedMessage::Release. Messages small enough for an inlined slice are
// copied instead: that costs no allocation, which a reference-holding slice would.

#include <grpc/slice.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include "core/rpc/serialized_message.h"

namespace percore::rpc {

inline grpc::ByteBuffer ToByteBuffer(const SerializedMessage& message) {
  grpc_slice slice;
  if (message.size() <= GRPC_SLICE_INLINED_SIZE) {
    slice = grpc_slice_from_copied_buffer(message.data(), message.size());
  } else {
    slice = grpc_slice_new_with_user_data(const_cast<char*>(message.data()), message.size(),
                                          &SerializedMessage::Release, message.Retain());
  }
  grpc::Slice owned(slice, grpc::Slice::STEAL_REF);
  return grpc::ByteBuffer(&owned, 1);
}

}  // namespace percore::rpc
