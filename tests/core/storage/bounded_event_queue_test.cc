#include "core/storage/bounded_event_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

namespace percore::storage {
namespace {

TEST(BoundedEventQueueTest, NewQueueIsEmptyWithItsCapacity) {
  BoundedEventQueue<int> queue(3);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_EQ(queue.capacity(), 3u);
  EXPECT_FALSE(queue.overflowed());
}

TEST(BoundedEventQueueTest, PopOfEmptyQueueIsNullopt) {
  BoundedEventQueue<int> queue(3);
  EXPECT_EQ(queue.Pop(), std::nullopt);
}

TEST(BoundedEventQueueTest, PopsInPushOrder) {
  BoundedEventQueue<std::string> queue(3);
  ASSERT_TRUE(queue.Push("a"));
  ASSERT_TRUE(queue.Push("b"));
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.Pop(), "a");
  ASSERT_TRUE(queue.Push("c"));
  EXPECT_EQ(queue.Pop(), "b");
  EXPECT_EQ(queue.Pop(), "c");
  EXPECT_EQ(queue.Pop(), std::nullopt);
  EXPECT_TRUE(queue.empty());
}

TEST(BoundedEventQueueTest, FillingToCapacityDoesNotOverflow) {
  BoundedEventQueue<int> queue(2);
  EXPECT_TRUE(queue.Push(1));
  EXPECT_TRUE(queue.Push(2));
  EXPECT_FALSE(queue.overflowed());
  EXPECT_EQ(queue.size(), 2u);
}

TEST(BoundedEventQueueTest, PushBeyondCapacityIsRefusedAndLatchesOverflow) {
  BoundedEventQueue<int> queue(2);
  ASSERT_TRUE(queue.Push(1));
  ASSERT_TRUE(queue.Push(2));
  EXPECT_FALSE(queue.Push(3));
  EXPECT_TRUE(queue.overflowed());
  EXPECT_EQ(queue.size(), 2u);
}

TEST(BoundedEventQueueTest, PushAfterOverflowIsRefusedEvenWithRoom) {
  BoundedEventQueue<int> queue(1);
  ASSERT_TRUE(queue.Push(1));
  ASSERT_FALSE(queue.Push(2));
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.Push(3));
  EXPECT_TRUE(queue.overflowed());
  EXPECT_TRUE(queue.empty());
}

TEST(BoundedEventQueueTest, AcceptedItemsStillPopAfterOverflow) {
  BoundedEventQueue<int> queue(2);
  ASSERT_TRUE(queue.Push(1));
  ASSERT_TRUE(queue.Push(2));
  ASSERT_FALSE(queue.Push(3));
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.Pop(), std::nullopt);
}

TEST(BoundedEventQueueTest, ZeroCapacityRefusesEveryPush) {
  BoundedEventQueue<int> queue(0);
  EXPECT_FALSE(queue.Push(1));
  EXPECT_TRUE(queue.overflowed());
  EXPECT_TRUE(queue.empty());
}

TEST(BoundedEventQueueTest, HoldsMoveOnlyItems) {
  BoundedEventQueue<std::unique_ptr<int>> queue(2);
  ASSERT_TRUE(queue.Push(std::make_unique<int>(5)));
  std::optional<std::unique_ptr<int>> item = queue.Pop();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(**item, 5);
}

}  // namespace
}  // namespace percore::storage
