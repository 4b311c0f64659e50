// RemotePaymentClient against two real payment replicas (separate ledgers, as --peer
// payment=A,B deploys them): a refund reaches the replica that charged whichever replica the
// balanced channel would pick, a transaction no replica knows is NOT_FOUND, and every
// ProcessPayment of one idempotency key (a retry, a repeat) reaches the same replica, so the key
// is approved on one ledger only.

#include "services/remote/remote_payment_client.h"

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "payment/v1/payment.grpc.pb.h"
#include "tests/services/remote/remote_test_support.h"
#include "tests/testing/server_fixture.h"

namespace percore::remote_test {
namespace {

namespace pay = ::payment::v1;
using ::percore::remote::RemotePaymentClient;
using ::percore::remote::RemotePeer;
using ::percore::testing::ServerFixture;

// An approved charge of 12.50 USD for order "order-KEY" under idempotency key `key`.
pay::ProcessPaymentRequest ChargeRequest(const std::string& key) {
  pay::ProcessPaymentRequest request;
  request.set_order_id("order-" + key);
  request.mutable_amount()->set_amount_minor(1250);
  request.mutable_amount()->set_currency("USD");
  request.mutable_method()->set_token("tok_approve");
  request.set_idempotency_key(key);
  return request;
}

class RemotePaymentClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      auto server = std::make_unique<ServerFixture>(ServerFixture::CatalogServices({"payment"}));
      ASSERT_TRUE(server->Start().ok());
      addresses_.push_back(server->address());
      replicas_.push_back(std::move(server));
    }
    std::string error;
    peer_ = RemotePeer::Create(RemotePaymentClient::Options(addresses_), &error);
    ASSERT_NE(peer_, nullptr) << error;
    client_ = std::make_shared<RemotePaymentClient>(peer_);
    caller_ =
        std::make_unique<runtime::Runtime>(runtime::RuntimeOptions{.shards = 1, .pin = false});
    caller_->Start();
  }
  void TearDown() override {
    if (caller_) caller_->Stop();
  }

  // Charges on replica `replica` directly (as a balanced ProcessPayment may have).
  std::string ChargeOn(size_t replica, const std::string& key) {
    auto stub = replicas_[replica]->MakeStub<pay::PaymentService>();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 20s);
    pay::PaymentResult result;
    grpc::Status status = stub->ProcessPayment(&context, ChargeRequest(key), &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(result.status(), pay::PaymentResult::PAYMENT_STATUS_APPROVED);
    return result.transaction_id();
  }

  std::optional<Outcome<pay::PaymentResult>> Charge(const std::string& key) {
    return CallOn<pay::PaymentResult>(*caller_, 0, [this, key](auto done) {
      clients::CallOptions options{.deadline = std::chrono::system_clock::now() + 20s};
      client_->ProcessPayment(ChargeRequest(key), options, std::move(done));
    });
  }

  // Whether replica `replica`'s ledger has a charge under `key` (GetPayment by key).
  bool HasCharge(size_t replica, const std::string& key) {
    auto stub = replicas_[replica]->MakeStub<pay::PaymentService>();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 20s);
    pay::GetPaymentRequest request;
    request.set_idempotency_key(key);
    pay::PaymentResult result;
    grpc::Status status = stub->GetPayment(&context, request, &result);
    EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND)
        << status.error_message();
    return status.ok();
  }

  std::optional<Outcome<pay::PaymentResult>> Refund(const std::string& transaction_id) {
    return CallOn<pay::PaymentResult>(*caller_, 0, [this, transaction_id](auto done) {
      pay::RefundPaymentRequest request;
      request.set_transaction_id(transaction_id);
      clients::CallOptions options{.deadline = std::chrono::system_clock::now() + 20s};
      client_->RefundPayment(request, options, std::move(done));
    });
  }

  std::vector<std::unique_ptr<ServerFixture>> replicas_;
  std::vector<std::string> addresses_;
  std::shared_ptr<RemotePeer> peer_;
  std::shared_ptr<RemotePaymentClient> client_;
  std::unique_ptr<runtime::Runtime> caller_;
};

TEST_F(RemotePaymentClientTest, ARefundReachesTheReplicaThatChargedEveryTime) {
  // Charges on each replica; every refund, repeated (round_robin alternates), must find it.
  for (size_t replica : {0u, 1u}) {
    std::string transaction = ChargeOn(replica, "key-" + std::to_string(replica));
    for (int attempt = 0; attempt < 4; ++attempt) {
      auto outcome = Refund(transaction);
      ASSERT_TRUE(outcome) << "done never ran";
      ASSERT_TRUE(outcome->status.ok()) << "replica " << replica << " attempt " << attempt << ": "
                                        << outcome->status.error_message();
      EXPECT_EQ(outcome->response.status(), pay::PaymentResult::PAYMENT_STATUS_REFUNDED);
      EXPECT_EQ(outcome->response.transaction_id(), transaction);
      EXPECT_EQ(outcome->times_done, 1);
    }
  }
}

TEST_F(RemotePaymentClientTest, EveryChargeOfAKeyReachesOneReplica) {
  // A charge repeated under its key is what the retry after a lost answer sends (a replica killed
  // after its approval was durable): through the balanced channel the repeat alternated
  // replicas and was approved on both (soak seed 103). Both replicas get some keys.
  std::vector<int> keys_on(2, 0);
  for (int k = 0; k < 8; ++k) {
    std::string key = "order-key-" + std::to_string(k);
    std::string transaction;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto outcome = Charge(key);
      ASSERT_TRUE(outcome) << "done never ran";
      ASSERT_TRUE(outcome->status.ok()) << outcome->status.error_message();
      EXPECT_EQ(outcome->response.status(), pay::PaymentResult::PAYMENT_STATUS_APPROVED);
      if (attempt == 0) transaction = outcome->response.transaction_id();
      EXPECT_EQ(outcome->response.transaction_id(), transaction) << key << " attempt " << attempt;
    }
    bool on0 = HasCharge(0, key), on1 = HasCharge(1, key);
    EXPECT_NE(on0, on1) << key << " charged on replica 0: " << on0 << ", 1: " << on1;
    ++keys_on[on1 ? 1 : 0];
  }
  EXPECT_GT(keys_on[0], 0);
  EXPECT_GT(keys_on[1], 0);
}

TEST_F(RemotePaymentClientTest, ATransactionNoReplicaKnowsIsNotFound) {
  auto outcome = Refund("txn_0000000000000000");
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status.error_code(), grpc::StatusCode::NOT_FOUND)
      << outcome->status.error_message();
}

}  // namespace
}  // namespace percore::remote_test
