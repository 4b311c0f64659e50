#pragma once
// Threading contract: pure functions; any thread.
//
// Which code a call that the client cancelled is counted with (grpc_server_handled_total, the
// server span): DeadlineExceeded when the cancel came at, or just before, the call's deadline;
// Canceled otherwise. grpc-go's client double-checks its own deadline when a stream ends
// CANCELLED (grpc-go #2211, #2906), but its server counts whatever its context says, so a
// client's cancel at its deadline that overtakes the server's own timer is Canceled there
// (grpc-go #8961). That race is the rule, not the exception, here: a client (grpc's, and the
// gateway's edge) cancels at its own deadline, and this server's copy of that deadline is later
// by the request's transit (the grpc-timeout header is turned into a deadline on arrival). So a
// cancel within a slack of the deadline counts as the deadline: a tenth of the call's budget
// (deadline minus arrival), at most kMaxCancelSlack. A client that gives up on purpose that
// close to its deadline is counted as its deadline; one that cancels earlier stays Canceled.

#include <algorithm>
#include <chrono>

#include "core/base/status.h"

namespace percore::rpc {

inline constexpr std::chrono::milliseconds kMaxCancelSlack{100};

// `deadline`: the call's (time_point::max() without one); `now`: when the cancel was seen;
// `elapsed`: how long the call had run then (its budget is elapsed plus what was left).
inline StatusCode CancelCode(std::chrono::system_clock::time_point deadline,
                             std::chrono::system_clock::time_point now,
                             std::chrono::nanoseconds elapsed) {
  if (deadline == std::chrono::system_clock::time_point::max()) return StatusCode::kCancelled;
  if (now >= deadline) return StatusCode::kDeadlineExceeded;
  const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
  if (left > kMaxCancelSlack) return StatusCode::kCancelled;  // (also: no overflow below)
  const std::chrono::nanoseconds budget =
      left + std::clamp<std::chrono::nanoseconds>(elapsed, {}, std::chrono::hours(1));
  return left <= budget / 10 ? StatusCode::kDeadlineExceeded : StatusCode::kCancelled;
}

}  // namespace percore::rpc
