// The mailbox under contention: many producers, one consumer, no task lost, none run twice,
// each producer's tasks in order. Built without gRPC so it runs under ThreadSanitizer.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/runtime/mailbox.h"

namespace percore::runtime {
namespace {

// A consumer thread that sleeps until woken, the way a shard sleeps in its completion queue.
class WakeSignal {
 public:
  void Wake() {
    wakes_.fetch_add(1, std::memory_order_release);
    wakes_.notify_one();
  }
  void WaitBeyond(uint64_t seen) { wakes_.wait(seen, std::memory_order_acquire); }
  uint64_t wakes() const { return wakes_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint64_t> wakes_{0};
};

TEST(MailboxStressTest, ManyProducersOneConsumerLoseAndDuplicateNothing) {
  constexpr int kProducers = 8;
  constexpr int kPerProducer = 20000;
  WakeSignal signal;
  Mailbox mailbox([&] { signal.Wake(); });

  // Written only by the consumer thread (tasks run there).
  std::vector<int> next_expected(kProducers, 0);
  std::vector<int> runs(kProducers * kPerProducer, 0);
  bool out_of_order = false;
  std::atomic<int> ran{0};

  std::thread consumer([&] {
    uint64_t seen = 0;
    while (ran.load(std::memory_order_acquire) < kProducers * kPerProducer) {
      signal.WaitBeyond(seen);
      seen = signal.wakes();
      mailbox.Drain(64);
    }
  });

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        ASSERT_TRUE(mailbox.Push(MakeTask([&, p, i] {
          if (next_expected[p] != i) out_of_order = true;
          next_expected[p] = i + 1;
          ++runs[p * kPerProducer + i];
          ran.fetch_add(1, std::memory_order_release);
        })));
      }
    });
  }
  for (auto& t : producers) t.join();
  consumer.join();

  EXPECT_EQ(ran.load(), kProducers * kPerProducer);
  EXPECT_FALSE(out_of_order);
  for (int count : runs) ASSERT_EQ(count, 1);
  EXPECT_EQ(mailbox.pushed(), static_cast<uint64_t>(kProducers * kPerProducer));
}

TEST(MailboxStressTest, BurstOfPushesCoalescesWakeUps) {
  std::atomic<int> wakes{0};
  Mailbox mailbox([&] { wakes.fetch_add(1); });
  int ran = 0;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(mailbox.Push(MakeTask([&] { ++ran; })));
  EXPECT_EQ(wakes.load(), 1);  // one wake-up for the whole burst
  EXPECT_EQ(mailbox.Drain(1000), 100u);
  EXPECT_EQ(ran, 100);
  ASSERT_TRUE(mailbox.Push(MakeTask([&] { ++ran; })));
  EXPECT_EQ(wakes.load(), 2);  // after a drain, the next push wakes again
  mailbox.Drain(1000);
}

TEST(MailboxStressTest, DrainBudgetLeftoverWakesAgain) {
  std::atomic<int> wakes{0};
  Mailbox mailbox([&] { wakes.fetch_add(1); });
  int ran = 0;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(mailbox.Push(MakeTask([&] { ++ran; })));
  EXPECT_EQ(mailbox.Drain(4), 4u);
  EXPECT_EQ(wakes.load(), 2);  // work left: the consumer is woken for another turn
  EXPECT_EQ(mailbox.Drain(100), 6u);
  EXPECT_EQ(ran, 10);
}

TEST(MailboxStressTest, CloseRefusesLaterPushesAndWaitsForProducersInFlight) {
  std::atomic<int> wakes{0};
  Mailbox mailbox([&] { wakes.fetch_add(1); });
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      while (!stop.load()) {
        if (mailbox.Push(MakeTask([] {}))) {
          accepted.fetch_add(1);
        } else {
          refused.fetch_add(1);
        }
      }
    });
  }
  while (accepted.load() < 1000) std::this_thread::yield();
  mailbox.Close();
  EXPECT_TRUE(mailbox.closed());
  EXPECT_FALSE(mailbox.Push(MakeTask([] {})));
  while (refused.load() < 100) std::this_thread::yield();
  stop = true;
  for (auto& t : producers) t.join();
  // Every accepted task is in the queue, nothing more.
  EXPECT_EQ(mailbox.Drain(SIZE_MAX), static_cast<size_t>(accepted.load()));
}

}  // namespace
}  // namespace percore::runtime
