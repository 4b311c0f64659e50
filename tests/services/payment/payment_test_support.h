#pragma once
// Threading contract: a PaymentServiceTest is driven from the test's main thread; the handler
// state it reads (charges, waiting calls, in-flight payments) is read on each shard's own thread
// through the runtime (SubmitTo), never touched from here. BackgroundProcess runs one blocking
// call on its own thread.
//
// A real percore server hosting payment.v1.PaymentService on a loopback port, 2 shards
// (ServerFixture), the generated gRPC client, and helpers that read the handlers' counters on
// their shards, so tests can prove "charged once" and "nothing left behind".

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/storage/partition_of.h"
#include "payment/v1/payment.grpc.pb.h"
#include "services/payment/payment_handler.h"
#include "tests/testing/server_fixture.h"

namespace percore::payment_test {

namespace v1 = ::payment::v1;
using ::grpc::ClientContext;
using ::grpc::Status;
using ::grpc::StatusCode;
using Stub = v1::PaymentService::Stub;
using namespace std::chrono_literals;

// No call in these suites may hang them: every client context gets a deadline.
constexpr auto kCallTimeout = 20s;
// How long tests poll for state that settles on the shards.
constexpr auto kSettle = 20s;

inline void SetDeadline(ClientContext& context, std::chrono::milliseconds timeout = kCallTimeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

inline std::string Describe(const Status& status) {
  return std::to_string(static_cast<int>(status.error_code())) + " \"" + status.error_message() +
         "\"";
}

inline ::testing::AssertionResult HasCode(const Status& status, StatusCode code) {
  if (status.error_code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected code " << static_cast<int>(code) << ", got " << Describe(status);
}

// `code` with a message that names `what` (a field, a token).
inline ::testing::AssertionResult HasCodeNaming(const Status& status, StatusCode code,
                                                const std::string& what) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure() << "expected code " << static_cast<int>(code) << " naming "
                                         << what << ", got " << Describe(status);
  }
  if (status.error_message().find(what) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message does not name " << what << ": " << Describe(status);
  }
  return ::testing::AssertionSuccess();
}

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
  ClientContext context;
  SetDeadline(context, timeout);
  v1::PaymentResult response;
  Status status = stub.ProcessPayment(&context, request, &response);
  if (result) *result = std::move(response);
  return status;
}

inline Status Refund(Stub& stub, const std::string& transaction_id,
                     v1::PaymentResult* result = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::RefundPaymentRequest request;
  request.set_transaction_id(transaction_id);
  v1::PaymentResult response;
  Status status = stub.RefundPayment(&context, request, &response);
  if (result) *result = std::move(response);
  return status;
}

inline Status Get(Stub& stub, const std::string& transaction_id,
                  v1::PaymentResult* result = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::GetPaymentRequest request;
  request.set_transaction_id(transaction_id);
  v1::PaymentResult response;
  Status status = stub.GetPayment(&context, request, &response);
  if (result) *result = std::move(response);
  return status;
}

// An idempotency key owned by `shard` of `shards` (PartitionOf), so tests cover both owners.
inline std::string KeyOwnedBy(size_t shard, const std::string& tag, size_t shards = 2) {
  for (int i = 0;; ++i) {
    std::string key = tag + "-" + std::to_string(i);
    if (storage::PartitionOf(key, shards) == shard) return key;
  }
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

class PaymentServiceTest : public ::testing::Test {
 protected:
  // Suites override this to shorten the simulator's delays.
  virtual payment::PaymentServiceOptions Options() { return {}; }

  void SetUp() override {
    def_ = payment::MakePaymentService(Options());
    server_ = std::make_unique<testing::ServerFixture>(testing::ServerFixture::Services{def_});
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error_message();
    ASSERT_EQ(server_->runtime().size(), 2u);
    stub_ = server_->MakeStub<v1::PaymentService>();
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();  // Shutdown(0) and join the shards
  }

  // A stub on its own connection (connections spread calls over the shards).
  std::unique_ptr<Stub> NewStub() {
    return server_->MakeStub<v1::PaymentService>(server_->NewChannel());
  }

  // fn(handler) on `shard`'s own thread; returns its result here.
  template <class Fn>
  auto OnShard(runtime::ShardId shard, Fn fn) {
    using Result = std::invoke_result_t<Fn&, payment::PaymentHandler&>;
    auto promise = std::make_shared<std::promise<Result>>();
    std::future<Result> future = promise->get_future();
    bool queued = server_->runtime().SubmitTo(shard, [promise, fn, def = def_.get()]() mutable {
      promise->set_value(fn(def->local(*runtime::Shard::Current())));
    });
    EXPECT_TRUE(queued) << "shard " << shard << " is closed";
    if (!queued || future.wait_for(kSettle) != std::future_status::ready) {
      ADD_FAILURE() << "shard " << shard << " did not answer";
      return Result();
    }
    return future.get();
  }

  // fn(handler) summed over every shard.
  template <class Fn>
  uint64_t SumOverShards(Fn fn) {
    uint64_t total = 0;
    for (runtime::ShardId s = 0; s < server_->runtime().size(); ++s) {
      total += OnShard(s, [fn](payment::PaymentHandler& h) { return uint64_t{fn(h)}; });
    }
    return total;
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

  std::shared_ptr<payment::PaymentHandler::Def> def_;
  std::unique_ptr<testing::ServerFixture> server_;
  std::unique_ptr<Stub> stub_;
};

}  // namespace percore::payment_test
