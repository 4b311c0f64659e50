#pragma once
// Threading contract: runs the call on the calling thread, which polls a completion queue of
// its own until the call is over.
//
// percore-call's call verb: one RPC of any shape with JSON requests, each response printed as
// proto3 JSON as it arrives, headers and trailers with -v, and the status on failure.

#include <grpcpp/channel.h>

#include <memory>

#include "tools/call/call_options.h"
#include "tools/grpcdyn/schema.h"

namespace percore::call {

// Returns the exit status: 0 on OK, 1 on a non-OK status or lookup failure, 2 on bad -d / -m.
int Invoke(std::shared_ptr<grpc::Channel> channel, grpcdyn::Schema& schema,
           const CallOptions& options);

}  // namespace percore::call
