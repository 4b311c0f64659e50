#pragma once
// Threading contract: called on a shard thread; `on_result` and `on_late_success` run on that
// same thread (the client contract: `done` runs on the issuing shard; the timer is this
// shard's).
//
// One service-to-service call of a saga step, with a deadline that holds whatever the callee
// does. The deadline goes to the callee in CallOptions (so a remote callee ends the call with
// DEADLINE_EXCEEDED), and a shard timer a little after it is the backstop for a callee that
// never answers (armed once the call is out, unless it was answered inline): the step then ends
// as DEADLINE_EXCEEDED, and if the real answer still comes and it took something (a reservation
// held, a payment approved), `on_late_success` gets it so the saga can give it back. Exactly one of
// the two ends the step; `done` may run inline.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
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

// False for an empty std::function; true for any other callable.
template <class F>
bool IsSet(const F& f) {
  if constexpr (std::is_constructible_v<bool, const F&>) {
    return static_cast<bool>(f);
  } else {
    return true;
  }
}

// `issue(options, done)` sends the call; `on_result(status, Resp)` ends the step;
// `on_late_success(Resp)` (or nullptr) gets an answer that came after the backstop. Each is moved
// once into the call's one shared state (no copies of the callbacks per call), and `what` (a
// string literal) names the step in a DEADLINE_EXCEEDED message.
template <class Resp, class Issue, class OnResult, class OnLate = std::nullptr_t>
void CallWithDeadline(runtime::Shard& shard, std::chrono::system_clock::time_point deadline,
                      const char* what, Issue&& issue, OnResult&& on_result,
                      OnLate&& on_late_success = nullptr) {
  auto left = deadline - std::chrono::system_clock::now();
  if (left <= std::chrono::system_clock::duration::zero()) {
    on_result(Status(StatusCode::kDeadlineExceeded,
                     std::string(what) + ": no time left before the deadline"),
              Resp());
    return;
  }
  using Result = std::decay_t<OnResult>;
  using Late = std::decay_t<OnLate>;
  struct State {
    State(runtime::Shard* shard, const char* what, Result on_result, Late on_late)
        : shard(shard),
          what(what),
          on_result(std::move(on_result)),
          on_late_success(std::move(on_late)) {}
    runtime::Shard* shard;
    const char* what;
    bool settled = false;
    bool timer_set = false;  // the backstop is armed only for an answer that did not come inline
    runtime::TimerId timer = 0;
    Result on_result;
    Late on_late_success;
  };
  auto state = std::make_shared<State>(&shard, what, std::forward<OnResult>(on_result),
                                       std::forward<OnLate>(on_late_success));
  clients::CallOptions options;
  options.deadline = deadline;
  issue(options, clients::Done<Resp>([state](const Status& status, Resp&& response) {
          if (state->settled) {
            if constexpr (!std::is_null_pointer_v<Late>) {
              if (status.ok() && IsSet(state->on_late_success)) {
                state->on_late_success(std::move(response));
              }
            }
            return;
          }
          state->settled = true;
          if (state->timer_set) state->shard->CancelTimer(state->timer);
          state->on_result(status, std::move(response));
        }));
  if (state->settled) return;  // answered inline (a callee in this process): no backstop needed
  // The backstop, armed once the call is out: at the deadline plus the margin, as measured now.
  left = std::max(deadline - std::chrono::system_clock::now(),
                  std::chrono::system_clock::duration::zero());
  state->timer_set = true;
  state->timer = shard.RunAfter(left + kBackstopMargin, [state] {
    if (state->settled) return;
    state->settled = true;
    state->on_result(
        Status(StatusCode::kDeadlineExceeded, std::string(state->what) + ": no answer in time"),
        Resp());
  });
}

}  // namespace percore::order
