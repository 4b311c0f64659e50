#include "tools/load/slot_book.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace percore::load {
namespace {

using std::chrono::hours;

// A slot that notes when the book starts it.
struct FakeSlot {
  Ticket ticket;
  int started = 0;
  void StartCall() { ++started; }
  Clock::time_point due() const { return ticket.due; }
};

CallOutcome Ok() {
  CallOutcome outcome;
  outcome.latency = std::chrono::milliseconds(3);
  return outcome;
}

TEST(SlotBookTest, ADueTicketStartsAtOnceAndSlotsGoIdleWhenTheRunHasNoCallLeft) {
  LoadOptions o;
  o.total = 1;
  LoadSchedule schedule(o, Clock::now());
  SlotBook<FakeSlot> book(schedule, o, 0);
  FakeSlot a, b;
  book.Begin(2);
  EXPECT_TRUE(book.Claim(&a, &a.ticket));   // closed loop: due when claimed
  EXPECT_FALSE(book.Claim(&b, &b.ticket));  // -n 1: nothing left, b goes idle
  EXPECT_TRUE(book.active());               // a is still running its call
  EXPECT_FALSE(book.Claim(&a, &a.ticket));  // a finished: idle too
  EXPECT_FALSE(book.active());
}

TEST(SlotBookTest, ATicketNotYetDueParksItsSlotUntilStartDue) {
  LoadOptions o;
  o.total = 3;
  o.rps = 1.0 / 3600;  // one call an hour: the second is due an hour after the start
  LoadSchedule schedule(o, Clock::now());
  SlotBook<FakeSlot> book(schedule, o, 0);
  FakeSlot a, b;
  book.Begin(2);
  EXPECT_TRUE(book.Claim(&a, &a.ticket));
  EXPECT_FALSE(book.Claim(&b, &b.ticket));  // parked, not idle
  EXPECT_TRUE(book.active());
  std::optional<Clock::time_point> next = book.StartDue();
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, b.ticket.due);
  EXPECT_EQ(b.started, 0);
  // Ctrl-C drops the parked ticket: its call is never made.
  EXPECT_TRUE(book.StopIfDue(/*interrupted=*/true));
  EXPECT_FALSE(book.StartDue());
  EXPECT_FALSE(book.Claim(&a, &a.ticket));
  EXPECT_FALSE(book.active());
  EXPECT_EQ(b.started, 0);
}

TEST(SlotBookTest, WaitLetsTheCallsInFlightEndAndIgnoreLeavesThemOutOfTheReport) {
  for (const char* mode : {"wait", "ignore"}) {
    LoadOptions o;
    o.duration = std::chrono::nanoseconds(1);  // time is up at once
    o.duration_stop = mode;
    LoadSchedule schedule(o, Clock::now() - hours(1));
    SlotBook<FakeSlot> book(schedule, o, 0);
    book.Begin(1);
    // "wait": nothing to stop, the call in flight ends by itself; "ignore": stop it.
    EXPECT_EQ(book.StopIfDue(false), std::string(mode) == "ignore") << mode;
    EXPECT_TRUE(book.stopping());
    EXPECT_FALSE(book.StopIfDue(false)) << mode;  // once
    book.Record(Ticket{}, Ok(), /*stopped=*/std::string(mode) == "ignore");
    EXPECT_EQ(book.stats().count(), std::string(mode) == "wait" ? 1u : 0u) << mode;
  }
}

TEST(SlotBookTest, RecordLeavesOutSkipFirstAndKeepsDetailsAtTheDueTime) {
  LoadOptions o;
  o.skip_first = 1;
  o.details = true;
  auto start = Clock::now();
  LoadSchedule schedule(o, start);
  SlotBook<FakeSlot> book(schedule, o, /*unix_start_ns=*/1000);
  Ticket ticket{0, start + std::chrono::nanoseconds(500)};
  book.Record(ticket, Ok(), false);  // the first result: skipped
  book.Record(ticket, Ok(), false);
  EXPECT_EQ(book.stats().count(), 1u);
  ASSERT_EQ(book.stats().details().size(), 1u);
  EXPECT_EQ(book.stats().details()[0].timestamp_unix_ns, 1500);
  EXPECT_EQ(book.stats().details()[0].latency_ns, 3'000'000);
}

}  // namespace
}  // namespace percore::load
