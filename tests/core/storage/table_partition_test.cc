#include "core/storage/table_partition.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/storage/compact_blob.h"

namespace percore::storage {
namespace {

using StringTable = TablePartition<std::string, std::string>;

// The keys a scan visits, in visiting order.
template <class Table, class K>
std::vector<std::string> KeysAfter(const Table& table, const K* after, size_t limit) {
  std::vector<std::string> keys;
  const size_t visited = table.ScanAfter(
      after, limit, [&](const std::string& key, const auto& /*value*/) { keys.push_back(key); });
  EXPECT_EQ(visited, keys.size());
  return keys;
}

StringTable MakeAbcde() {
  StringTable table;
  for (std::string key : {"c", "a", "e", "b", "d"}) table.Put(key, "v" + key);
  return table;
}

TEST(TablePartitionTest, NewTableIsEmpty) {
  StringTable table;
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Get(std::string("a")), nullptr);
}

TEST(TablePartitionTest, GetOfAbsentKeyIsNull) {
  StringTable table = MakeAbcde();
  EXPECT_EQ(table.Get(std::string("zz")), nullptr);
}

TEST(TablePartitionTest, PutOfNewKeyInsertsAndGetFindsIt) {
  StringTable table;
  EXPECT_TRUE(table.Put("k", "v1"));
  ASSERT_NE(table.Get(std::string("k")), nullptr);
  EXPECT_EQ(*table.Get(std::string("k")), "v1");
  EXPECT_EQ(table.size(), 1u);
  EXPECT_FALSE(table.empty());
}

TEST(TablePartitionTest, PutOfExistingKeyReplacesValueAndReturnsFalse) {
  StringTable table;
  ASSERT_TRUE(table.Put("k", "v1"));
  EXPECT_FALSE(table.Put("k", "v2"));
  EXPECT_EQ(*table.Get(std::string("k")), "v2");
  EXPECT_EQ(table.size(), 1u);
}

TEST(TablePartitionTest, EraseOfPresentKeyRemovesIt) {
  StringTable table = MakeAbcde();
  EXPECT_TRUE(table.Erase(std::string("c")));
  EXPECT_EQ(table.Get(std::string("c")), nullptr);
  EXPECT_EQ(table.size(), 4u);
}

TEST(TablePartitionTest, EraseOfAbsentKeyReturnsFalse) {
  StringTable table = MakeAbcde();
  EXPECT_FALSE(table.Erase(std::string("zz")));
  EXPECT_TRUE(table.Erase(std::string("a")));
  EXPECT_FALSE(table.Erase(std::string("a")));
  EXPECT_EQ(table.size(), 4u);
}

TEST(TablePartitionTest, KeyCanBeReinsertedAfterErase) {
  StringTable table;
  table.Put("k", "old");
  table.Erase(std::string("k"));
  EXPECT_TRUE(table.Put("k", "new"));
  EXPECT_EQ(*table.Get(std::string("k")), "new");
}

TEST(TablePartitionTest, LookupAcceptsStringViewWithoutBuildingAKey) {
  StringTable table = MakeAbcde();
  std::string_view b = "b";
  ASSERT_NE(table.Get(b), nullptr);
  EXPECT_EQ(*table.Get(b), "vb");
  EXPECT_NE(table.Get("c"), nullptr);  // const char[] too
  EXPECT_TRUE(table.Erase(b));
  EXPECT_EQ(table.Get(b), nullptr);
}

TEST(TablePartitionTest, ScanFromStartVisitsAllInAscendingOrder) {
  StringTable table = MakeAbcde();
  EXPECT_EQ(KeysAfter(table, static_cast<const std::string*>(nullptr), 100),
            (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST(TablePartitionTest, ScanWithNullptrLiteralStartsFromTheFirstKey) {
  StringTable table = MakeAbcde();
  std::vector<std::string> keys;
  EXPECT_EQ(table.ScanAfter(nullptr, 2,
                            [&](const std::string& k, const std::string&) { keys.push_back(k); }),
            2u);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
}

TEST(TablePartitionTest, ScanStopsAtLimit) {
  StringTable table = MakeAbcde();
  EXPECT_EQ(KeysAfter(table, static_cast<const std::string*>(nullptr), 3),
            (std::vector<std::string>{"a", "b", "c"}));
}

TEST(TablePartitionTest, ScanAfterPresentKeyExcludesIt) {
  StringTable table = MakeAbcde();
  const std::string cursor = "b";
  EXPECT_EQ(KeysAfter(table, &cursor, 2), (std::vector<std::string>{"c", "d"}));
}

TEST(TablePartitionTest, ScanAfterAbsentKeyContinuesAtNextLargerKey) {
  StringTable table = MakeAbcde();
  const std::string cursor = "bb";  // e.g. a row deleted since the previous page
  EXPECT_EQ(KeysAfter(table, &cursor, 10), (std::vector<std::string>{"c", "d", "e"}));
  const std::string before_all = "";
  EXPECT_EQ(KeysAfter(table, &before_all, 1), (std::vector<std::string>{"a"}));
}

TEST(TablePartitionTest, ScanAfterLastKeyOrPastTheEndVisitsNothing) {
  StringTable table = MakeAbcde();
  const std::string last = "e";
  const std::string past = "zzz";
  EXPECT_TRUE(KeysAfter(table, &last, 10).empty());
  EXPECT_TRUE(KeysAfter(table, &past, 10).empty());
}

TEST(TablePartitionTest, ScanWithLimitZeroNeverCallsFn) {
  StringTable table = MakeAbcde();
  int calls = 0;
  EXPECT_EQ(table.ScanAfter(nullptr, 0, [&](const auto&, const auto&) { ++calls; }), 0u);
  EXPECT_EQ(calls, 0);
}

TEST(TablePartitionTest, ScanOfEmptyTableVisitsNothing) {
  StringTable table;
  const std::string cursor = "a";
  EXPECT_TRUE(KeysAfter(table, static_cast<const std::string*>(nullptr), 10).empty());
  EXPECT_TRUE(KeysAfter(table, &cursor, 10).empty());
}

TEST(TablePartitionTest, ScanAcceptsAStringViewCursor) {
  StringTable table = MakeAbcde();
  const std::string_view cursor = "c";
  EXPECT_EQ(KeysAfter(table, &cursor, 10), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(KeysAfter(table, static_cast<const std::string_view*>(nullptr), 1),
            (std::vector<std::string>{"a"}));
}

TEST(TablePartitionTest, ScanPassesTheStoredValues) {
  StringTable table = MakeAbcde();
  std::vector<std::string> values;
  table.ScanAfter(nullptr, 10,
                  [&](const std::string&, const std::string& value) { values.push_back(value); });
  EXPECT_EQ(values, (std::vector<std::string>{"va", "vb", "vc", "vd", "ve"}));
}

TEST(TablePartitionTest, StoresMoveOnlyValues) {
  TablePartition<std::string, std::unique_ptr<int>> table;
  EXPECT_TRUE(table.Put("a", std::make_unique<int>(1)));
  EXPECT_FALSE(table.Put("a", std::make_unique<int>(2)));
  ASSERT_NE(table.Get("a"), nullptr);
  EXPECT_EQ(**table.Get("a"), 2);
  int sum = 0;
  table.ScanAfter(nullptr, 10,
                  [&](const std::string&, const std::unique_ptr<int>& v) { sum += *v; });
  EXPECT_EQ(sum, 2);
}

TEST(TablePartitionTest, StoresCompactBlobRows) {
  TablePartition<std::string, CompactBlob> table;
  table.Put("id-1", CompactBlob::CopyOf("serialized user 1"));
  table.Put("id-2", CompactBlob::CopyOf("serialized user 2"));
  ASSERT_NE(table.Get("id-2"), nullptr);
  EXPECT_EQ(table.Get("id-2")->view(), "serialized user 2");
  // Copying a row out for another shard is explicit.
  CompactBlob copy = table.Get("id-1")->Clone();
  EXPECT_TRUE(table.Erase("id-1"));
  EXPECT_EQ(copy.view(), "serialized user 1");
}

TEST(TablePartitionTest, BytesFollowPutReplaceAndErase) {
  TablePartition<std::string, CompactBlob> blobs;
  blobs.Put("a", CompactBlob::CopyOf("12345"));
  blobs.Put("b", CompactBlob::CopyOf("123"));
  EXPECT_EQ(blobs.bytes(), 8u);
  blobs.Put("a", CompactBlob::CopyOf("1"));  // replaced: the old row's bytes leave
  EXPECT_EQ(blobs.bytes(), 4u);
  EXPECT_TRUE(blobs.Erase("b"));
  EXPECT_FALSE(blobs.Erase("b"));
  EXPECT_EQ(blobs.bytes(), 1u);
  StringTable strings;
  strings.Put("k", "four");
  EXPECT_EQ(strings.bytes(), 4u);
  // Not byte strings: no byte count.
  TablePartition<int, std::vector<int>> vectors;
  vectors.Put(1, std::vector<int>{1, 2, 3});
  EXPECT_EQ(vectors.bytes(), 0u);
}

TEST(TablePartitionTest, OrderFollowsTheComparator) {
  TablePartition<int, int, std::greater<>> table;
  for (int k : {1, 3, 2}) table.Put(k, k * 10);
  std::vector<int> keys;
  const int cursor = 3;
  table.ScanAfter(&cursor, 10, [&](int k, int) { keys.push_back(k); });
  EXPECT_EQ(keys, (std::vector<int>{2, 1}));  // "after" 3 in descending order
}

TEST(TablePartitionTest, MovedTableKeepsItsRows) {
  StringTable a = MakeAbcde();
  StringTable b = std::move(a);
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(*b.Get("a"), "va");
}

}  // namespace
}  // namespace percore::storage
