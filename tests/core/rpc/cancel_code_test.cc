// core/rpc/cancel_code.h: which code a client's cancel is counted with.
#include "core/rpc/cancel_code.h"

#include <gtest/gtest.h>

namespace percore::rpc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

TEST(CancelCode, WithoutADeadlineACancelIsCanceled) {
  EXPECT_EQ(CancelCode(Clock::time_point::max(), Clock::now(), 1h), StatusCode::kCancelled);
}

TEST(CancelCode, AtOrAfterTheDeadlineItIsTheDeadlines) {
  const auto now = Clock::now();
  EXPECT_EQ(CancelCode(now, now, 2s), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CancelCode(now - 1s, now, 2s), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CancelCode(now, now, 0ns), StatusCode::kDeadlineExceeded);  // elapsed unknown
}

TEST(CancelCode, JustBeforeTheDeadlineWithinTheSlackItIsTheDeadlines) {
  const auto now = Clock::now();
  // A 2 s budget: the slack is kMaxCancelSlack (100 ms), a tenth would be 200 ms.
  EXPECT_EQ(CancelCode(now + 30ms, now, 1970ms), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CancelCode(now + 100ms, now, 1900ms), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CancelCode(now + 101ms, now, 1899ms), StatusCode::kCancelled);
  // A 200 ms budget: a tenth, 20 ms.
  EXPECT_EQ(CancelCode(now + 20ms, now, 180ms), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CancelCode(now + 30ms, now, 170ms), StatusCode::kCancelled);
  // Elapsed unknown (0): only a passed deadline counts.
  EXPECT_EQ(CancelCode(now + 1ms, now, 0ns), StatusCode::kCancelled);
}

TEST(CancelCode, LongBeforeTheDeadlineOrFarDeadlinesStayCanceled) {
  const auto now = Clock::now();
  EXPECT_EQ(CancelCode(now + 1800ms, now, 200ms), StatusCode::kCancelled);
  EXPECT_EQ(CancelCode(now + std::chrono::hours(24 * 365 * 100), now, 1h), StatusCode::kCancelled);
  EXPECT_EQ(CancelCode(now + 50ms, now, std::chrono::nanoseconds::max()),
            StatusCode::kDeadlineExceeded);  // no overflow
}

}  // namespace
}  // namespace percore::rpc
