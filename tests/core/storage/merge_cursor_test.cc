#include "core/storage/merge_cursor.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace percore::storage {
namespace {

struct Row {
  std::string key;
  int run;
};

const std::string& KeyOfRow(const Row& row) { return row.key; }
int Identity(int x) { return x; }

std::vector<std::string> Keys(const std::vector<Row>& rows) {
  std::vector<std::string> keys;
  for (const Row& row : rows) keys.push_back(row.key);
  return keys;
}

TEST(MergeSortedRunsTest, NoRunsGivesEmptyPageWithoutMore) {
  MergedPage<int> page = MergeSortedRuns(std::vector<std::vector<int>>{}, 10, Identity);
  EXPECT_TRUE(page.items.empty());
  EXPECT_FALSE(page.more);
}

TEST(MergeSortedRunsTest, AllRunsEmptyGivesEmptyPageWithoutMore) {
  MergedPage<int> page = MergeSortedRuns(std::vector<std::vector<int>>(4), 10, Identity);
  EXPECT_TRUE(page.items.empty());
  EXPECT_FALSE(page.more);
}

TEST(MergeSortedRunsTest, InterleavedRunsMergeInAscendingOrder) {
  MergedPage<int> page = MergeSortedRuns<int>({{1, 4, 7}, {2, 5, 8}, {3, 6, 9}}, 100, Identity);
  EXPECT_EQ(page.items, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_FALSE(page.more);
}

TEST(MergeSortedRunsTest, LimitTakesTheSmallestAndReportsMore) {
  MergedPage<int> page = MergeSortedRuns<int>({{1, 4, 7}, {2, 5, 8}, {3, 6, 9}}, 4, Identity);
  EXPECT_EQ(page.items, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_TRUE(page.more);
}

TEST(MergeSortedRunsTest, LimitEqualToTotalHasNoMore) {
  MergedPage<int> page = MergeSortedRuns<int>({{1, 3}, {2}}, 3, Identity);
  EXPECT_EQ(page.items, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(page.more);
}

TEST(MergeSortedRunsTest, LimitZeroReturnsNothingButReportsMoreIfAnyItemExists) {
  MergedPage<int> page = MergeSortedRuns<int>({{}, {5}}, 0, Identity);
  EXPECT_TRUE(page.items.empty());
  EXPECT_TRUE(page.more);
  MergedPage<int> none = MergeSortedRuns<int>({{}, {}}, 0, Identity);
  EXPECT_FALSE(none.more);
}

TEST(MergeSortedRunsTest, MoreIsTrueWhenOnlyTheLastRunHasLeftovers) {
  // The shape ListUsers produces: every shard sends limit + 1 after the cursor.
  MergedPage<int> page = MergeSortedRuns<int>({{1, 2}, {}, {10, 11, 12}}, 4, Identity);
  EXPECT_EQ(page.items, (std::vector<int>{1, 2, 10, 11}));
  EXPECT_TRUE(page.more);
}

TEST(MergeSortedRunsTest, SingleRunIsTruncated) {
  MergedPage<int> page = MergeSortedRuns<int>({{1, 2, 3}}, 2, Identity);
  EXPECT_EQ(page.items, (std::vector<int>{1, 2}));
  EXPECT_TRUE(page.more);
}

TEST(MergeSortedRunsTest, KeyOfSelectsTheOrderingField) {
  std::vector<std::vector<Row>> runs = {{{"b", 0}, {"d", 0}}, {{"a", 1}, {"c", 1}}};
  MergedPage<Row> page = MergeSortedRuns(std::move(runs), 3, KeyOfRow);
  EXPECT_EQ(Keys(page.items), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(page.more);
}

TEST(MergeSortedRunsTest, EqualKeysComeOutInRunOrder) {
  std::vector<std::vector<Row>> runs = {{{"k", 0}, {"k", 0}}, {{"a", 1}, {"k", 1}}, {{"k", 2}}};
  MergedPage<Row> page = MergeSortedRuns(std::move(runs), 10, KeyOfRow);
  ASSERT_EQ(page.items.size(), 5u);
  EXPECT_EQ(page.items[0].key, "a");
  std::vector<int> order;
  for (size_t i = 1; i < page.items.size(); ++i) order.push_back(page.items[i].run);
  EXPECT_EQ(order, (std::vector<int>{0, 0, 1, 2}));
}

TEST(MergeSortedRunsTest, MovesMoveOnlyItems) {
  std::vector<std::vector<std::unique_ptr<int>>> runs(2);
  runs[0].push_back(std::make_unique<int>(2));
  runs[1].push_back(std::make_unique<int>(1));
  runs[1].push_back(std::make_unique<int>(3));
  MergedPage<std::unique_ptr<int>> page =
      MergeSortedRuns(std::move(runs), 2, [](const std::unique_ptr<int>& p) { return *p; });
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(*page.items[0], 1);
  EXPECT_EQ(*page.items[1], 2);
  EXPECT_TRUE(page.more);
}

TEST(MergeSortedRunsTest, CustomCompareMergesDescendingRuns) {
  MergedPage<int> page = MergeSortedRuns<int>({{9, 5, 1}, {8, 2}}, 3, Identity, std::greater<>());
  EXPECT_EQ(page.items, (std::vector<int>{9, 8, 5}));
  EXPECT_TRUE(page.more);
}

}  // namespace
}  // namespace percore::storage
