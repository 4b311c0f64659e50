#include "tools/load/load_schedule.h"

#include <gtest/gtest.h>

namespace percore::load {
namespace {

using std::chrono::milliseconds;

TEST(LoadScheduleTest, CountModeHandsOutExactlyTotalTickets) {
  LoadOptions o;
  o.total = 3;
  auto start = Clock::now();
  LoadSchedule s(o, start);
  for (uint64_t n = 0; n < 3; ++n) {
    auto t = s.Claim(start + milliseconds(5));
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->number, n);
    EXPECT_EQ(t->due, start + milliseconds(5));  // closed loop: due when claimed
  }
  EXPECT_FALSE(s.Claim(start).has_value());
}

TEST(LoadScheduleTest, RpsDueTimesFollowTheScheduleNotTheClaims) {
  LoadOptions o;
  o.total = 100;
  o.rps = 200;  // one every 5 ms
  auto start = Clock::now();
  LoadSchedule s(o, start);
  EXPECT_EQ(s.Claim(start + milliseconds(50))->due, start);  // late claim: due is still start
  EXPECT_EQ(s.Claim(start)->due, start + milliseconds(5));
  EXPECT_EQ(s.Claim(start)->due, start + milliseconds(10));
}

TEST(LoadScheduleTest, DurationEndsClaimsAndIgnoresTotal) {
  LoadOptions o;
  o.total = 1;
  o.duration = milliseconds(100);
  o.rps = 100;  // one every 10 ms: calls 0..9 fit in 100 ms
  auto start = Clock::now();
  LoadSchedule s(o, start);
  for (int n = 0; n < 10; ++n) ASSERT_TRUE(s.Claim(start).has_value()) << n;
  EXPECT_FALSE(s.Claim(start).has_value());
  EXPECT_TRUE(s.TimeUp(start + milliseconds(100)));
  EXPECT_FALSE(s.TimeUp(start + milliseconds(99)));
}

TEST(LoadScheduleTest, SkipFirstAndStop) {
  LoadOptions o;
  o.skip_first = 2;
  LoadSchedule s(o, Clock::now());
  EXPECT_TRUE(s.SkipResult());
  EXPECT_TRUE(s.SkipResult());
  EXPECT_FALSE(s.SkipResult());
  s.Stop();
  EXPECT_FALSE(s.Claim(Clock::now()).has_value());
}

}  // namespace
}  // namespace percore::load
