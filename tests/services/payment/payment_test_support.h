#pragma once
// Threading contract: a PaymentServiceTest is driven from the test's main thread; the handler
// state it reads (charges, waiting calls, in-flight payments) is read on each shard's own thread
// through the runtime (SubmitTo), never touched from here. BackgroundProcess runs one blocking
// call on its own thread.
//
// A real percore server hosting payment.v1.PaymentService on a loopback port, 2 shards
// (ServerFixture), the generated gRPC client, and helpers that read the handlers' counters on
// their shards, so tests can prove "charged once" and "nothing left behind".

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "payment/v1/payment.grpc.pb.h"
#include "services/payment/payment_handler.h"
#include "tests/testing/e2e.h"

namespace percore::payment_test {

namespace v1 = ::payment::v1;
using namespace ::percore::testing::e2e;
using ::grpc::Status;
using ::grpc::StatusCode;
using Stub = v1::PaymentService::Stub;

// How long tests poll for state that settles on the shards.
constexpr auto kSettle = 20s;

inline v1::ProcessPaymentRequest PaymentRequest(const std::string& idempotency_key,
                                                const std::string& token = "tok_approve",
                                                const std::string& order_id = "order-1",
                                                int64_t amount_minor = 1250,
                                                const std::string& currency = "USD") {
  v1::ProcessPaymentRequest request;
  request.set_order_id(order_id);
  request.mutable_amount()->set_amount_minor(amount_minor);
  request.mutable_amount()->set_currency(currency);
  request.mutable_method()->set_token(token);
  request.set_idempotency_key(idempotency_key);
  return request;
}

inline Status Process(Stub& stub, const v1::ProcessPaymentRequest& request,
                      v1::PaymentResult* result = nullptr,
                      std::chrono::milliseconds timeout = kCallTimeout) {
  return CallUnary(stub, &Stub::ProcessPayment, request, result, timeout);
}

inline Status Refund(Stub& stub, const std::string& transaction_id,
                     v1::PaymentResult* result = nullptr) {
  v1::RefundPaymentRequest request;
  request.set_transaction_id(transaction_id);
  return CallUnary(stub, &Stub::RefundPayment, request, result);
}

inline Status Get(Stub& stub, const std::string& transaction_id,
                  v1::PaymentResult* result = nullptr) {
  v1::GetPaymentRequest request;
  request.set_transaction_id(transaction_id);
  return CallUnary(stub, &Stub::GetPayment, request, result);
}

// An idempotency key owned by `shard` of `shards` (PartitionOf), so tests cover both owners.
inline std::string KeyOwnedBy(size_t shard, const std::string& tag, size_t shards = 2) {
  return testing::KeyOnShard(tag, shard, shards);
}

// One blocking ProcessPayment on its own thread, so a test can hold many at once, cancel them
// (ClientContext::TryCancel is thread-safe) and collect their statuses. Destroying it cancels
// the call if it is still running.
class BackgroundProcess {
 public:
  BackgroundProcess(Stub& stub, v1::ProcessPaymentRequest request,
                    std::chrono::milliseconds timeout = kCallTimeout)
      : request_(std::move(request)), timeout_(timeout), thread_([this, &stub] { Run(stub); }) {}
  ~BackgroundProcess() {
    if (thread_.joinable()) {
      context_.TryCancel();
      thread_.join();
    }
  }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  void Cancel() { context_.TryCancel(); }
  bool finished() const { return finished_.load(); }
  // Joins the thread: the call's status.
  Status Wait() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  const v1::PaymentResult& result() const { return result_; }

 private:
  void Run(Stub& stub) {
    SetDeadline(context_, timeout_);
    status_ = stub.ProcessPayment(&context_, request_, &result_);
    finished_.store(true);
  }

  ClientContext context_;
  v1::ProcessPaymentRequest request_;
  std::chrono::milliseconds timeout_;
  Status status_;
  v1::PaymentResult result_;
  std::atomic<bool> finished_{false};
  std::thread thread_;  // last: starts once the members it uses exist
};

class PaymentServiceTest : public testing::ServiceTest<v1::PaymentService> {
 protected:
  // Suites override this to shorten the simulator's delays.
  virtual payment::PaymentServiceOptions Options() { return {}; }

  Services MakeServices() override {
    service_ = std::make_shared<payment::PaymentService>(Options());
    def_ = payment::MakePaymentGrpcService(service_);
    return {def_};
  }

  void SetUp() override {
    ServiceTest::SetUp();
    ASSERT_EQ(server_->runtime().size(), 2u);
  }

  // fn(handler) on `shard`'s own thread; returns its result here.
  template <class Fn>
  auto OnShard(runtime::ShardId shard, Fn fn) {
    return testing::OnShard(server_->runtime(), *def_, shard, fn, kSettle);
  }

  // fn(handler) summed over every shard.
  template <class Fn>
  uint64_t SumOverShards(Fn fn) {
    return static_cast<uint64_t>(testing::SumOverShards(server_->runtime(), *def_, fn));
  }

  uint64_t Charges() {
    return SumOverShards([](payment::PaymentHandler& h) { return h.charges(); });
  }
  uint64_t WaitingCalls() {
    return SumOverShards([](payment::PaymentHandler& h) { return h.waiting_calls(); });
  }
  uint64_t InFlightPayments() {
    return SumOverShards([](payment::PaymentHandler& h) { return h.ledger().in_flight(); });
  }
  // True once `calls` calls wait for the processor and their owners hold `payments` payments
  // in flight (a call is counted on its own shard before its payment reaches the owner).
  bool Held(uint64_t calls, uint64_t payments) {
    return WaitingCalls() == calls && InFlightPayments() == payments;
  }
  // No call waits for the processor and no payment is in flight, on any shard.
  bool NothingPending() { return WaitingCalls() == 0 && InFlightPayments() == 0; }

  std::shared_ptr<payment::PaymentService> service_;  // also the in-process client
  std::shared_ptr<payment::PaymentHandler::Def> def_;
};

}  // namespace percore::payment_test
