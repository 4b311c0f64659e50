// CallWithDeadline (services/order/step_call.h), the deadline of each saga step: exactly one of
// the answer and the backstop ends the step, an answer after the backstop goes to
// on_late_success, and a callee that answers inline (an in-process service on the same shard)
// leaves no timer behind.

#include "services/order/step_call.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "tests/testing/runtime_fixture.h"

namespace percore::order {
namespace {

using namespace std::chrono_literals;

class StepCallTest : public testing::RuntimeFixture {
 protected:
  StepCallTest() : RuntimeFixture(Options()) {}
  static runtime::RuntimeOptions Options() {
    runtime::RuntimeOptions options;
    options.shards = 1;
    options.pin = false;
    return options;
  }
  runtime::Shard& shard() { return runtime_.shard(0); }
};

struct Ended {
  int calls = 0;
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::string answer;
};

TEST_F(StepCallTest, AnInlineAnswerEndsTheStepAndLeavesNoTimer) {
  auto [ended, timers_before, timers_after] = On(0, [&] {
    Ended ended;
    size_t before = shard().pending_timers();
    CallWithDeadline<std::string>(
        shard(), std::chrono::system_clock::now() + 5s, "Step",
        [](const clients::CallOptions&, clients::Done<std::string> done) {
          done(Status(), std::string("answer"));
        },
        [&ended](const Status& status, std::string&& answer) {
          ++ended.calls;
          ended.code = status.code();
          ended.answer = std::move(answer);
        });
    return std::make_tuple(ended, before, shard().pending_timers());
  });
  EXPECT_EQ(ended.calls, 1);
  EXPECT_EQ(ended.code, StatusCode::kOk);
  EXPECT_EQ(ended.answer, "answer");
  EXPECT_EQ(timers_after, timers_before) << "a timer was left armed for an inline answer";
}

TEST_F(StepCallTest, ALaterAnswerEndsTheStepAndCancelsTheBackstop) {
  std::promise<Ended> result;
  size_t before = 0;
  size_t timers_while_waiting = On(0, [&] {
    before = shard().pending_timers();
    CallWithDeadline<std::string>(
        shard(), std::chrono::system_clock::now() + 5s, "Step",
        [this](const clients::CallOptions&, clients::Done<std::string> done) {
          shard().RunAfter(10ms, [done = std::move(done)] { done(Status(), "late but in time"); });
        },
        [&result](const Status& status, std::string&& answer) {
          result.set_value(Ended{1, status.code(), status.message(), std::move(answer)});
        });
    return shard().pending_timers() - before;
  });
  EXPECT_EQ(timers_while_waiting, 2u) << "the callee's timer and the backstop";
  Ended ended = result.get_future().get();
  EXPECT_EQ(ended.code, StatusCode::kOk);
  EXPECT_EQ(ended.answer, "late but in time");
  EXPECT_EQ(On(0, [&] { return shard().pending_timers(); }), before)
      << "the backstop was not cancelled";
}

TEST_F(StepCallTest, NoAnswerInTimeEndsTheStepDeadlineExceededAndALateAnswerGoesToLateSuccess) {
  std::promise<Ended> result;
  std::promise<std::string> late;
  std::atomic<int> ends{0};
  clients::Done<std::string> held;
  On(0, [&] {
    CallWithDeadline<std::string>(
        shard(), std::chrono::system_clock::now() + 20ms, "ReserveStock",
        [&held](const clients::CallOptions& options, clients::Done<std::string> done) {
          EXPECT_NE(options.deadline, std::chrono::system_clock::time_point());
          held = std::move(done);  // answered only after the backstop
        },
        [&](const Status& status, std::string&& answer) {
          if (ends.fetch_add(1) == 0) {
            result.set_value(Ended{1, status.code(), status.message(), std::move(answer)});
          }
        },
        [&late](std::string&& answer) { late.set_value(std::move(answer)); });
    return 0;
  });
  Ended ended = result.get_future().get();
  EXPECT_EQ(ended.code, StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ended.message, "ReserveStock: no answer in time");
  On(0, [&] {
    held(Status(), "held after all");
    return 0;
  });
  EXPECT_EQ(late.get_future().get(), "held after all");
  EXPECT_EQ(ends.load(), 1) << "the late answer ended the step a second time";
}

TEST_F(StepCallTest, APassedDeadlineEndsTheStepWithoutCallingTheCallee) {
  auto [ended, issued] = On(0, [&] {
    Ended ended;
    bool issued = false;
    CallWithDeadline<std::string>(
        shard(), std::chrono::system_clock::now() - 1ms, "GetUser",
        [&issued](const clients::CallOptions&, clients::Done<std::string>) { issued = true; },
        [&ended](const Status& status, std::string&&) {
          ++ended.calls;
          ended.code = status.code();
          ended.message = status.message();
        });
    return std::make_pair(ended, issued);
  });
  EXPECT_FALSE(issued);
  EXPECT_EQ(ended.calls, 1);
  EXPECT_EQ(ended.code, StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ended.message, "GetUser: no time left before the deadline");
}

}  // namespace
}  // namespace percore::order
