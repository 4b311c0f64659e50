#pragma once
// Threading contract: a client call is issued on a shard thread and its `done` runs exactly once,
// later or inline, on that same shard thread.
//
// What every service-to-service call carries, whether the callee runs in this process (through
// the runtime: messages passed as objects, no serialization) or in another one (over gRPC).

#include <chrono>
#include <functional>

#include "core/base/status.h"

namespace percore::clients {

struct CallOptions {
  // The caller's deadline, propagated to the callee (gRPC deadline when remote). A callee that
  // cannot answer by then ends the call with DEADLINE_EXCEEDED.
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  // A remote call waits (up to the deadline) for an unreachable callee to come back instead of
  // failing UNAVAILABLE at once (gRPC's wait_for_ready): for a call that must not be lost but
  // cannot be retried, since a request that never left is then sent once the callee is back.
  // A service's call to another cluster member (services/cluster/member_call.h) waits the same
  // way; in process it changes nothing.
  bool wait_for_ready = false;
};

// The answer: a status, and the response when the status is OK. The response is handed over as
// an rvalue (a protobuf message's move is a construction, a swap and a destruction): a callback
// takes it by value only to keep it, and binds it by reference otherwise.
template <class Resp>
using Done = std::function<void(const Status& status, Resp&& response)>;

}  // namespace percore::clients
