// inventory.v1 products: CreateProduct, GetProduct, AdjustStock and every validation error.

#include <gtest/gtest.h>

#include <string>

#include "tests/services/inventory/inventory_test_support.h"

namespace percore::inventory_test {
namespace {

class InventoryProductTest : public InventoryServiceTest {};

TEST_F(InventoryProductTest, CreateReturnsTheProductAndGetReadsItBack) {
  v1::Product created;
  ASSERT_TRUE(
      CreateProduct(*stub_, ProductRequest("SKU-1.a_b", 7, 450, "EUR", "Blue mug"), &created).ok());
  EXPECT_EQ(created.sku(), "SKU-1.a_b");
  EXPECT_EQ(created.name(), "Blue mug");
  EXPECT_EQ(created.price().amount_minor(), 450);
  EXPECT_EQ(created.price().currency(), "EUR");
  EXPECT_EQ(created.stock(), 7);
  EXPECT_EQ(created.reserved(), 0);
  EXPECT_EQ(created.available(), 7);
  EXPECT_GT(created.created_at().seconds(), 0);
  EXPECT_EQ(created.created_at().SerializeAsString(), created.updated_at().SerializeAsString());
  v1::Product read = MustGet("SKU-1.a_b");
  EXPECT_EQ(read.SerializeAsString(), created.SerializeAsString());
}

TEST_F(InventoryProductTest, ProductsOnBothShardsAreServed) {
  std::string a = SkuOnShard("A", 0), b = SkuOnShard("B", 1);
  MustCreate(a, 1);
  MustCreate(b, 2);
  EXPECT_EQ(MustGet(a).stock(), 1);
  EXPECT_EQ(MustGet(b).stock(), 2);
}

TEST_F(InventoryProductTest, ZeroStockAndZeroPriceAreAllowed) {
  EXPECT_TRUE(CreateProduct(*stub_, ProductRequest("FREE", 0, 0)).ok());
  EXPECT_EQ(Levels("FREE"), (std::vector<int64_t>{0, 0, 0}));
}

TEST_F(InventoryProductTest, DuplicateSkuIsAlreadyExists) {
  MustCreate("DUP", 1);
  EXPECT_TRUE(IsErrorNaming(CreateProduct(*stub_, ProductRequest("DUP", 5)),
                            StatusCode::ALREADY_EXISTS, "DUP"));
  EXPECT_EQ(MustGet("DUP").stock(), 1);
}

TEST_F(InventoryProductTest, UnknownSkuIsNotFound) {
  EXPECT_TRUE(IsErrorNaming(GetProduct(*stub_, "NOPE"), StatusCode::NOT_FOUND, "NOPE"));
  EXPECT_TRUE(IsErrorNaming(AdjustStock(*stub_, "NOPE", 1), StatusCode::NOT_FOUND, "NOPE"));
}

TEST_F(InventoryProductTest, CreateRejectsBadSku) {
  for (const std::string& sku : {std::string(), std::string(65, 'A'), std::string("has space"),
                                 std::string("slash/no"), std::string("ümlaut")}) {
    EXPECT_TRUE(IsInvalidArgumentNaming(CreateProduct(*stub_, ProductRequest(sku, 1)), "sku"))
        << "sku \"" << sku << "\"";
  }
  EXPECT_TRUE(CreateProduct(*stub_, ProductRequest(std::string(64, 'Z'), 1)).ok());
}

TEST_F(InventoryProductTest, CreateRejectsBadName) {
  EXPECT_TRUE(IsInvalidArgumentNaming(CreateProduct(*stub_, ProductRequest("N1", 1, 1, "USD", "")),
                                      "name"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      CreateProduct(*stub_, ProductRequest("N2", 1, 1, "USD", std::string(201, 'x'))), "name"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      CreateProduct(*stub_, ProductRequest("N3", 1, 1, "USD", "   ")), "name"));
  // 200 bytes exactly (100 two-byte characters) is fine.
  std::string two_byte;
  for (int i = 0; i < 100; ++i) two_byte += "é";
  EXPECT_TRUE(CreateProduct(*stub_, ProductRequest("N4", 1, 1, "USD", two_byte)).ok());
}

TEST_F(InventoryProductTest, CreateRejectsBadPrice) {
  v1::CreateProductRequest no_price = ProductRequest("P0", 1);
  no_price.clear_price();
  EXPECT_TRUE(IsInvalidArgumentNaming(CreateProduct(*stub_, no_price), "price"));
  for (const char* currency : {"", "usd", "US", "USDX", "U$D"}) {
    EXPECT_TRUE(IsInvalidArgumentNaming(CreateProduct(*stub_, ProductRequest("P1", 1, 1, currency)),
                                        "price.currency"))
        << "currency \"" << currency << "\"";
  }
  EXPECT_TRUE(IsInvalidArgumentNaming(CreateProduct(*stub_, ProductRequest("P2", 1, -1)),
                                      "price.amount_minor"));
}

TEST_F(InventoryProductTest, CreateRejectsNegativeInitialStock) {
  EXPECT_TRUE(
      IsInvalidArgumentNaming(CreateProduct(*stub_, ProductRequest("S", -1)), "initial_stock"));
  EXPECT_TRUE(IsErrorNaming(GetProduct(*stub_, "S"), StatusCode::NOT_FOUND, "S"));
}

TEST_F(InventoryProductTest, GetAndAdjustRejectBadSku) {
  EXPECT_TRUE(IsInvalidArgumentNaming(GetProduct(*stub_, ""), "sku"));
  EXPECT_TRUE(IsInvalidArgumentNaming(AdjustStock(*stub_, "a b", 1), "sku"));
}

TEST_F(InventoryProductTest, AdjustStockAddsAndRemovesUnits) {
  v1::Product created = MustCreate("ADJ", 10);
  v1::Product adjusted;
  ASSERT_TRUE(AdjustStock(*stub_, "ADJ", 5, &adjusted).ok());
  EXPECT_EQ(adjusted.stock(), 15);
  EXPECT_EQ(adjusted.available(), 15);
  ASSERT_TRUE(AdjustStock(*stub_, "ADJ", -15, &adjusted).ok());
  EXPECT_EQ(adjusted.stock(), 0);
  EXPECT_EQ(adjusted.available(), 0);
  EXPECT_GE(adjusted.updated_at().seconds(), created.updated_at().seconds());
  EXPECT_EQ(Levels("ADJ"), (std::vector<int64_t>{0, 0, 0}));
}

TEST_F(InventoryProductTest, AdjustStockBelowZeroIsFailedPrecondition) {
  MustCreate("NEG", 3);
  EXPECT_TRUE(
      IsErrorNaming(AdjustStock(*stub_, "NEG", -4), StatusCode::FAILED_PRECONDITION, "NEG"));
  EXPECT_EQ(Levels("NEG"), (std::vector<int64_t>{3, 0, 3}));
}

TEST_F(InventoryProductTest, AdjustStockBelowReservedIsFailedPrecondition) {
  MustCreate("HELD", 10);
  MustReserve(ReserveRequest("order-1", {{"HELD", 6}}));
  EXPECT_TRUE(
      IsErrorNaming(AdjustStock(*stub_, "HELD", -5), StatusCode::FAILED_PRECONDITION, "HELD"));
  EXPECT_EQ(Levels("HELD"), (std::vector<int64_t>{10, 6, 4}));
  v1::Product adjusted;
  ASSERT_TRUE(AdjustStock(*stub_, "HELD", -4, &adjusted).ok());  // down to exactly the reserved
  EXPECT_EQ(adjusted.stock(), 6);
  EXPECT_EQ(adjusted.available(), 0);
}

TEST_F(InventoryProductTest, AdjustStockOverflowIsInvalidArgument) {
  MustCreate("BIG", 10);
  EXPECT_TRUE(IsInvalidArgumentNaming(AdjustStock(*stub_, "BIG", INT64_MAX), "delta"));
  EXPECT_EQ(MustGet("BIG").stock(), 10);
}

}  // namespace
}  // namespace percore::inventory_test
