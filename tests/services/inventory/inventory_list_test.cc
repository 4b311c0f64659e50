// inventory.v1 ListProducts: SKU order across shards, page sizes, the next-page-token trailer
// and tokens the server did not issue.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/services/inventory/inventory_test_support.h"

namespace percore::inventory_test {
namespace {

class InventoryListTest : public InventoryServiceTest {};

std::vector<std::string> Skus(const std::vector<v1::Product>& products) {
  std::vector<std::string> skus;
  for (const auto& p : products) skus.push_back(p.sku());
  return skus;
}

TEST_F(InventoryListTest, EmptyCatalogListsNothingWithoutToken) {
  Page page = ListPage(*stub_, 0);
  ASSERT_TRUE(page.status.ok()) << Describe(page.status);
  EXPECT_TRUE(page.items.empty());
  EXPECT_FALSE(page.more());
}

TEST_F(InventoryListTest, PagingWalksEverySkuOnceInOrderAcrossShards) {
  std::vector<std::string> skus;
  for (int i = 0; i < 23; ++i) {
    std::string sku = "K" + std::to_string(100 + (i * 37) % 23);  // created out of order
    skus.push_back(sku);
    MustCreate(sku, i);
  }
  std::sort(skus.begin(), skus.end());
  std::vector<size_t> owners;
  for (const auto& sku : skus) owners.push_back(ShardOfKey(sku));
  ASSERT_NE(std::count(owners.begin(), owners.end(), 0), 0) << "all SKUs on shard 1";
  ASSERT_NE(std::count(owners.begin(), owners.end(), 1), 0) << "all SKUs on shard 0";

  std::vector<size_t> sizes;
  std::vector<v1::Product> walked;
  ASSERT_TRUE(testing::WalkPages(
      [&](const std::string& token) { return ListPage(*stub_, 5, token); }, 10, &sizes, &walked));
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 5, 3}));
  EXPECT_EQ(Skus(walked), skus);
}

TEST_F(InventoryListTest, ListedProductsCarryCurrentLevels) {
  MustCreate("L1", 5);
  MustReserve(ReserveRequest("k", {{"L1", 2}}));
  Page page = ListPage(*stub_, 10);
  ASSERT_TRUE(page.status.ok());
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].reserved(), 2);
  EXPECT_EQ(page.items[0].available(), 3);
}

TEST_F(InventoryListTest, PageThatEndsTheCatalogHasNoToken) {
  for (int i = 0; i < 4; ++i) MustCreate("E" + std::to_string(i), 1);
  Page page = ListPage(*stub_, 4);
  ASSERT_TRUE(page.status.ok());
  EXPECT_EQ(page.items.size(), 4u);
  EXPECT_FALSE(page.more());
}

TEST_F(InventoryListTest, DefaultPageSizeIs100AndLargeSizesAreCapped) {
  for (int i = 0; i < 101; ++i) MustCreate("D" + std::to_string(1000 + i), 1);
  Page first = ListPage(*stub_, 0);
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.items.size(), 100u);
  EXPECT_TRUE(first.more());
  Page capped = ListPage(*stub_, 1'000'000);
  ASSERT_TRUE(capped.status.ok());
  EXPECT_EQ(capped.items.size(), 101u);
  EXPECT_FALSE(capped.more());
}

TEST_F(InventoryListTest, NegativePageSizeIsInvalidArgument) {
  EXPECT_TRUE(IsInvalidArgumentNaming(ListPage(*stub_, -1).status, "page_size"));
}

TEST_F(InventoryListTest, ForeignPageTokenIsInvalidArgument) {
  for (int i = 0; i < 3; ++i) MustCreate("T" + std::to_string(i), 1);
  Page first = ListPage(*stub_, 1);
  ASSERT_TRUE(first.more());
  std::string forged = first.token;
  forged.back() = forged.back() == '0' ? '1' : '0';
  for (const std::string& token : {std::string("garbage"), forged, std::string("s1.")}) {
    EXPECT_TRUE(IsInvalidArgumentNaming(ListPage(*stub_, 1, token).status, "page_token"))
        << "token \"" << token << "\"";
  }
}

}  // namespace
}  // namespace percore::inventory_test
