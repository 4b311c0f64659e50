#pragma once
// Threading contract: called on a shard thread; `on_result` and `on_late_success` run on that
// same thread (the client contract: `done` runs on the issuing shard; the timer is this
// shard's).
//
// One service-to-service call of a saga step, with a deadline that holds whatever the callee
// does. The deadline goes to the callee in CallOptions (so a remote callee ends the call with
// DEADLINE_EXCEEDED), and a shard timer a little after it is the backstop for a callee that
// never answers: the step then ends as DEADLINE_EXCEEDED, and if the real answer still comes
// and it took something (a reservation held, a payment approved), `on_late_success` gets it so
// the saga can give it back. Exactly one of the two ends the step; `done` may run inline.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/base/status.h"
#include "core/runtime/shard.h"
#include "services/clients/call_options.h"

namespace percore::order {

// How long after the deadline the backstop fires: the callee's own DEADLINE_EXCEEDED (with its
// message) normally arrives first.
inline constexpr std::chrono::milliseconds kBackstopMargin{50};

// "UNAVAILABLE: <message>": a callee's error, for failure reasons and errors.
inline std::string DescribeCallStatus(const Status& status) {
  return std::string(StatusCodeName(status.code())) + ": " + status.message();
}

template <class Resp>
void CallWithDeadline(runtime::Shard& shard, std::chrono::system_clock::time_point deadline,
                      std::string what,
                      std::function<void(const clients::CallOptions&, clients::Done<Resp>)> issue,
                      std::function<void(const Status&, Resp)> on_result,
                      std::function<void(Resp)> on_late_success = nullptr) {
  auto left = deadline - std::chrono::system_clock::now();
  if (left <= std::chrono::system_clock::duration::zero()) {
    on_result(Status(StatusCode::kDeadlineExceeded, what + ": no time left before the deadline"),
              Resp());
    return;
  }
  struct State {
    bool settled = false;
    runtime::TimerId timer = 0;
  };
  auto state = std::make_shared<State>();
  state->timer = shard.RunAfter(left + kBackstopMargin, [state, on_result, what] {
    if (state->settled) return;
    state->settled = true;
    on_result(Status(StatusCode::kDeadlineExceeded, what + ": no answer in time"), Resp());
  });
  clients::CallOptions options;
  options.deadline = deadline;
  issue(options, [state, &shard, on_result, on_late_success](const Status& status, Resp response) {
    if (state->settled) {
      if (status.ok() && on_late_success) on_late_success(std::move(response));
      return;
    }
    state->settled = true;
    shard.CancelTimer(state->timer);
    on_result(status, std::move(response));
  });
}

}  // namespace percore::order
