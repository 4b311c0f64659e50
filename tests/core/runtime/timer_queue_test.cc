// TimerQueue alone, on a clock the test moves by hand: deadline order (ties in the order added),
// cancellation by id (once, never after the timer ran, never of a later timer that reuses the
// slot), timers added and cancelled by running callbacks, Clear, the ambient trace, and a long
// random mix of adds, cancels and runs checked against a plain ordered model.

#include "core/runtime/timer_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace percore::runtime {
namespace {

using std::chrono::milliseconds;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

Clock::time_point At(int ms) { return kStart + milliseconds(ms); }

TEST(TimerQueueTest, RunsDueTimersInDeadlineOrderAndTiesInTheOrderAdded) {
  TimerQueue timers;
  std::vector<int> ran;
  // (deadline in ms, label): the three at 3 ms are told apart by their labels.
  for (auto [ms, label] : std::vector<std::pair<int, int>>{
           {5, 5}, {1, 1}, {3, 31}, {3, 32}, {2, 2}, {3, 33}, {9, 9}}) {
    timers.Add(At(ms), [&ran, label] { ran.push_back(label); });
  }
  EXPECT_EQ(timers.size(), 7u);
  EXPECT_EQ(timers.next_deadline(), At(1));

  EXPECT_EQ(timers.RunDue(At(0)), 0u);
  EXPECT_EQ(timers.RunDue(At(3)), 5u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 31, 32, 33}));
  EXPECT_EQ(timers.next_deadline(), At(5));
  EXPECT_EQ(timers.RunDue(At(100)), 2u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 31, 32, 33, 5, 9}));
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_EQ(timers.next_deadline(), std::nullopt);
}

TEST(TimerQueueTest, CancelTakesATimerOutOnceAndNeverOneThatRan) {
  TimerQueue timers;
  int ran = 0;
  TimerId early = timers.Add(At(1), [&ran] { ++ran; });
  TimerId middle = timers.Add(At(2), [&ran] { ran += 10; });
  TimerId late = timers.Add(At(3), [&ran] { ran += 100; });
  EXPECT_NE(early, 0u);
  EXPECT_NE(middle, early);
  EXPECT_TRUE(timers.Cancel(middle));
  EXPECT_FALSE(timers.Cancel(middle));
  EXPECT_EQ(timers.size(), 2u);
  EXPECT_EQ(timers.RunDue(At(5)), 2u);
  EXPECT_EQ(ran, 101);
  EXPECT_FALSE(timers.Cancel(early));
  EXPECT_FALSE(timers.Cancel(late));
  EXPECT_FALSE(timers.Cancel(0));
  EXPECT_FALSE(timers.Cancel(~TimerId{0}));
}

TEST(TimerQueueTest, AnOldIdNeverCancelsALaterTimerInItsSlot) {
  TimerQueue timers;
  int ran = 0;
  TimerId first = timers.Add(At(1), [] {});
  ASSERT_TRUE(timers.Cancel(first));
  TimerId second = timers.Add(At(1), [&ran] { ++ran; });  // reuses the freed slot
  EXPECT_NE(second, first);
  EXPECT_FALSE(timers.Cancel(first));
  EXPECT_EQ(timers.size(), 1u);
  timers.RunDue(At(1));
  EXPECT_EQ(ran, 1);
  TimerId third = timers.Add(At(1), [] {});
  EXPECT_NE(third, second);
  EXPECT_FALSE(timers.Cancel(second));
  EXPECT_TRUE(timers.Cancel(third));
}

TEST(TimerQueueTest, ACallbackMayAddAndCancelTimersWhileTheyRun) {
  TimerQueue timers;
  std::vector<int> ran;
  TimerId doomed = timers.Add(At(4), [&ran] { ran.push_back(4); });
  timers.Add(At(2), [&] {
    ran.push_back(2);
    EXPECT_TRUE(timers.Cancel(doomed));
    timers.Add(At(3), [&ran] { ran.push_back(3); });    // due: runs in this RunDue
    timers.Add(At(50), [&ran] { ran.push_back(50); });  // not yet
  });
  EXPECT_EQ(timers.RunDue(At(10)), 2u);
  EXPECT_EQ(ran, (std::vector<int>{2, 3}));
  EXPECT_EQ(timers.next_deadline(), At(50));
}

// Runs `on_destroy` when the callback holding it is destroyed.
struct Guard {
  std::function<void()> on_destroy;
  ~Guard() {
    if (on_destroy) on_destroy();
  }
};

TEST(TimerQueueTest, ACancelledCallbackIsDestroyedWithTheQueueConsistent) {
  TimerQueue timers;
  int ran = 0;
  TimerId other = timers.Add(At(2), [&ran] { ++ran; });
  auto guard = std::make_shared<Guard>();
  bool cancelled_other = false;
  guard->on_destroy = [&] { cancelled_other = timers.Cancel(other); };
  TimerId holder = timers.Add(At(1), [guard] {});
  guard.reset();  // the timer's callback holds the last reference
  EXPECT_TRUE(timers.Cancel(holder));
  EXPECT_TRUE(cancelled_other);
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_EQ(timers.RunDue(At(10)), 0u);
  EXPECT_EQ(ran, 0);
}

TEST(TimerQueueTest, ClearDropsEveryTimerUnrunAndTheirIdsStayDead) {
  TimerQueue timers;
  int ran = 0;
  TimerId a = timers.Add(At(1), [&ran] { ++ran; });
  TimerId b = timers.Add(At(2), [&ran] { ++ran; });
  // Destroying this callback cancels `a` (already dropped: false) and adds a timer after Clear.
  auto guard = std::make_shared<Guard>();
  bool cancelled_a = true;
  guard->on_destroy = [&] {
    cancelled_a = timers.Cancel(a);
    timers.Add(At(3), [&ran] { ran += 10; });
  };
  timers.Add(At(5), [guard] {});
  guard.reset();
  timers.Clear();
  EXPECT_FALSE(cancelled_a);
  EXPECT_FALSE(timers.Cancel(b));
  EXPECT_EQ(timers.size(), 1u);  // the one added while clearing
  TimerId c = timers.Add(At(4), [&ran] { ran += 100; });
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  EXPECT_EQ(timers.RunDue(At(10)), 2u);
  EXPECT_EQ(ran, 110);
}

TEST(TimerQueueTest, ATimerRunsUnderTheTraceItWasSetIn) {
  TimerQueue timers;
  observe::TraceContext set_in{.trace_hi = 1, .trace_lo = 2, .span_id = 3, .flags = 1};
  {
    observe::TraceScope scope(set_in);
    timers.Add(At(1), [] { EXPECT_EQ(observe::CurrentTrace().span_id, 3u); });
  }
  uint64_t seen = 99;
  timers.Add(At(2), [&seen] { seen = observe::CurrentTrace().span_id; });
  EXPECT_EQ(timers.RunDue(At(5)), 2u);
  EXPECT_EQ(seen, 0u);
  EXPECT_EQ(observe::CurrentTrace().span_id, 0u);
}

// Many adds, cancels and runs against a model: (deadline, order added) -> label.
TEST(TimerQueueTest, ARandomMixRunsWhatAnOrderedModelRuns) {
  TimerQueue timers;
  std::map<std::pair<int, int>, int> model;
  std::vector<std::pair<TimerId, std::pair<int, int>>> live;  // ids that may still be pending
  std::vector<int> ran;
  std::vector<int> expected;
  std::mt19937 random(16);
  int now = 0;
  int added = 0;
  for (int step = 0; step < 20000; ++step) {
    int what = static_cast<int>(random() % 10);
    if (what < 5) {
      int deadline = now + static_cast<int>(random() % 40);
      int label = added;
      TimerId id = timers.Add(At(deadline), [&ran, label] { ran.push_back(label); });
      model[{deadline, added}] = label;
      live.emplace_back(id, std::pair{deadline, added});
      ++added;
    } else if (what < 8 && !live.empty()) {
      size_t pick = random() % live.size();
      auto [id, key] = live[pick];
      live[pick] = live.back();
      live.pop_back();
      EXPECT_EQ(timers.Cancel(id), model.erase(key) == 1);
    } else {
      now += static_cast<int>(random() % 5);
      for (auto it = model.begin(); it != model.end() && it->first.first <= now;) {
        expected.push_back(it->second);
        it = model.erase(it);
      }
      timers.RunDue(At(now));
      ASSERT_EQ(ran, expected) << "at step " << step;
    }
    ASSERT_EQ(timers.size(), model.size());
    if (!model.empty()) ASSERT_EQ(timers.next_deadline(), At(model.begin()->first.first));
  }
}

}  // namespace
}  // namespace percore::runtime
