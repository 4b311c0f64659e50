#pragma once
// Threading contract: built on the control thread before the server starts, immutable afterwards;
// Route() runs on the call's shard, after the interceptor chain and before the handler. The
// answer it takes is run exactly once, on that same shard.
//
// The hook that lets a call be answered by another process instead of this one's handler (a
// cluster member forwarding a call whose key another partition owns: core/cluster,
// services/cluster). Unary calls only, at the byte level: the router sees the parsed request (to
// find its key) and answers with the owner's status or serialized response, so no handler is
// edited and every unary method of every service can be routed by a per-method key.

#include <functional>

#include "core/base/status.h"
#include "core/rpc/call_interceptor.h"
#include "core/rpc/serialized_message.h"

namespace percore::rpc {

// Answers a routed call: its response bytes when `status` is OK, else the status.
using RoutedAnswer = std::function<void(const Status& status, const SerializedMessage& response)>;

class CallRouter {
 public:
  virtual ~CallRouter() = default;
  // False: the handler here serves the call. True: the router has taken it; it called `take()`
  // (once, before returning) and runs the answer it got exactly once on this shard.
  virtual bool Route(const InterceptedCall& call,
                     const std::function<RoutedAnswer()>& take) const = 0;
};

}  // namespace percore::rpc
