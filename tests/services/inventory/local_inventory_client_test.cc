// InventoryService as the in-process clients::InventoryClient (what OrderService uses): calls
// issued on a shard thread of the server's own runtime reach the same operations as the RPCs, so
// both paths see (and change) the same data the same way, and `done` runs once on the calling
// shard.

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <utility>

#include "core/rpc/grpc_status.h"
#include "core/runtime/shard.h"
#include "services/inventory/inventory_service.h"
#include "tests/services/inventory/inventory_test_support.h"

namespace percore::inventory_test {
namespace {

template <class Resp>
struct Answer {
  Status status;
  Resp response;
  bool on_calling_shard = false;
};

class LocalInventoryClientTest : public InventoryServiceTest {
 protected:
  void SetUp() override {
    InventoryServiceTest::SetUp();
    client_ = service_;  // the service API is the client
  }

  // Issues `call(client, done)` on shard `shard` and waits for its answer.
  template <class Resp, class Call>
  Answer<Resp> OnShard(runtime::ShardId shard, Call call) {
    auto promise = std::make_shared<std::promise<Answer<Resp>>>();
    std::future<Answer<Resp>> future = promise->get_future();
    server_->runtime().SubmitTo(shard, [client = client_, call, promise, shard] {
      call(*client, [promise, shard](const percore::Status& status, Resp response) {
        runtime::Shard* current = runtime::Shard::Current();
        promise->set_value(Answer<Resp>{rpc::ToGrpcStatus(status), std::move(response),
                                        current != nullptr && current->id() == shard});
      });
    });
    EXPECT_EQ(future.wait_for(kCallTimeout), std::future_status::ready);
    return future.get();
  }

  Answer<v1::Reservation> Reserve(runtime::ShardId shard, v1::ReserveStockRequest request) {
    return OnShard<v1::Reservation>(
        shard, [request](clients::InventoryClient& client, clients::Done<v1::Reservation> done) {
          client.ReserveStock(request, {}, std::move(done));
        });
  }
  Answer<v1::Reservation> Commit(runtime::ShardId shard, const std::string& id) {
    return OnShard<v1::Reservation>(
        shard, [id](clients::InventoryClient& client, clients::Done<v1::Reservation> done) {
          v1::CommitReservationRequest request;
          request.set_reservation_id(id);
          client.CommitReservation(request, {}, std::move(done));
        });
  }
  Answer<v1::Reservation> Release(runtime::ShardId shard, const std::string& id) {
    return OnShard<v1::Reservation>(
        shard, [id](clients::InventoryClient& client, clients::Done<v1::Reservation> done) {
          v1::ReleaseReservationRequest request;
          request.set_reservation_id(id);
          client.ReleaseReservation(request, {}, std::move(done));
        });
  }
  Answer<v1::Product> Get(runtime::ShardId shard, const std::string& sku) {
    return OnShard<v1::Product>(
        shard, [sku](clients::InventoryClient& client, clients::Done<v1::Product> done) {
          v1::GetProductRequest request;
          request.set_sku(sku);
          client.GetProduct(request, {}, std::move(done));
        });
  }
  Answer<v1::Product> Adjust(runtime::ShardId shard, const std::string& sku, int64_t delta) {
    return OnShard<v1::Product>(
        shard, [sku, delta](clients::InventoryClient& client, clients::Done<v1::Product> done) {
          v1::AdjustStockRequest request;
          request.set_sku(sku);
          request.set_delta(delta);
          client.AdjustStock(request, {}, std::move(done));
        });
  }

  std::shared_ptr<clients::InventoryClient> client_;
};

TEST_F(LocalInventoryClientTest, GetProductMatchesTheRpcFromEitherShard) {
  std::string sku = SkuOnShard("G", 1);
  v1::Product created = MustCreate(sku, 4);
  for (runtime::ShardId shard : {0u, 1u}) {
    Answer<v1::Product> answer = Get(shard, sku);
    ASSERT_TRUE(answer.status.ok()) << Describe(answer.status);
    EXPECT_TRUE(answer.on_calling_shard);
    EXPECT_EQ(answer.response.SerializeAsString(), created.SerializeAsString());
  }
  Answer<v1::Product> missing = Get(0, "NOPE");
  Status rpc_missing = GetProduct(*stub_, "NOPE");
  EXPECT_EQ(missing.status.error_code(), rpc_missing.error_code());
  EXPECT_EQ(missing.status.error_message(), rpc_missing.error_message());
  EXPECT_TRUE(missing.on_calling_shard);
}

TEST_F(LocalInventoryClientTest, ReserveCommitAndAdjustChangeWhatTheRpcsSee) {
  std::string a = SkuOnShard("A", 0), b = SkuOnShard("B", 1);
  MustCreate(a, 10);
  MustCreate(b, 10);
  Answer<v1::Reservation> reserved = Reserve(1, ReserveRequest("local-1", {{a, 2}, {b, 3}}));
  ASSERT_TRUE(reserved.status.ok()) << Describe(reserved.status);
  EXPECT_TRUE(reserved.on_calling_shard);
  EXPECT_EQ(reserved.response.state(), v1::Reservation::RESERVATION_STATE_HELD);
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{10, 2, 8}));
  EXPECT_EQ(Levels(b), (std::vector<int64_t>{10, 3, 7}));
  // The RPC with the same key finds the reservation the local call made.
  v1::Reservation via_rpc = MustReserve(ReserveRequest("local-1", {{a, 2}, {b, 3}}));
  EXPECT_EQ(via_rpc.SerializeAsString(), reserved.response.SerializeAsString());

  Answer<v1::Reservation> committed = Commit(0, reserved.response.id());
  ASSERT_TRUE(committed.status.ok()) << Describe(committed.status);
  EXPECT_EQ(committed.response.state(), v1::Reservation::RESERVATION_STATE_COMMITTED);
  v1::Reservation again;
  ASSERT_TRUE(CommitReservation(*stub_, reserved.response.id(), &again).ok());
  EXPECT_EQ(again.SerializeAsString(), committed.response.SerializeAsString());
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{8, 0, 8}));

  Answer<v1::Product> adjusted = Adjust(1, a, 2);  // a returned unit pair (CancelOrder)
  ASSERT_TRUE(adjusted.status.ok());
  EXPECT_EQ(adjusted.response.stock(), 10);
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{10, 0, 10}));
}

TEST_F(LocalInventoryClientTest, ErrorsAreTheSameAsOverRpc) {
  std::string a = SkuOnShard("A", 0), b = SkuOnShard("B", 1);
  MustCreate(a, 1);
  MustCreate(b, 1);
  // Shortage across shards: nothing held.
  v1::ReserveStockRequest short_request = ReserveRequest("short", {{a, 1}, {b, 2}});
  Answer<v1::Reservation> local = Reserve(0, short_request);
  Status rpc = ReserveStock(*stub_, short_request);
  EXPECT_TRUE(IsErrorNaming(local.status, StatusCode::FAILED_PRECONDITION, b));
  EXPECT_EQ(local.status.error_message(), rpc.error_message());
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{1, 0, 1}));
  // Validation.
  v1::ReserveStockRequest invalid = ReserveRequest("", {{a, 1}});
  local = Reserve(1, invalid);
  rpc = ReserveStock(*stub_, invalid);
  EXPECT_TRUE(IsInvalidArgumentNaming(local.status, "reservation_key"));
  EXPECT_EQ(local.status.error_message(), rpc.error_message());
  EXPECT_TRUE(local.on_calling_shard);
  // Below reserved.
  v1::Reservation held = MustReserve(ReserveRequest("held", {{a, 1}}));
  Answer<v1::Product> below = Adjust(0, a, -1);
  EXPECT_TRUE(IsErrorNaming(below.status, StatusCode::FAILED_PRECONDITION, a));
  // Release, then commit refused.
  ASSERT_TRUE(Release(1, held.id()).status.ok());
  EXPECT_TRUE(
      IsErrorNaming(Commit(0, held.id()).status, StatusCode::FAILED_PRECONDITION, held.id()));
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{1, 0, 1}));
}

}  // namespace
}  // namespace percore::inventory_test
