// payment.v1 request validation (payment.proto): every rule answers INVALID_ARGUMENT naming its
// field, charges nothing, and leaves the idempotency key unused.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/services/payment/payment_test_support.h"

namespace percore::payment_test {
namespace {

struct InvalidCase {
  std::string what;
  v1::ProcessPaymentRequest request;
  std::string field;
};

std::vector<InvalidCase> InvalidCases() {
  std::vector<InvalidCase> cases;
  auto add = [&](std::string what, std::string field, auto change) {
    v1::ProcessPaymentRequest request = PaymentRequest("validation-key");
    change(request);
    cases.push_back({std::move(what), std::move(request), std::move(field)});
  };
  using Req = v1::ProcessPaymentRequest;
  add("empty order_id", "order_id", [](Req& r) { r.clear_order_id(); });
  add("order_id of 129 bytes", "order_id", [](Req& r) { r.set_order_id(std::string(129, 'o')); });
  add("no amount", "amount", [](Req& r) { r.clear_amount(); });
  add("zero amount", "amount.amount_minor",
      [](Req& r) { r.mutable_amount()->set_amount_minor(0); });
  add("negative amount", "amount.amount_minor",
      [](Req& r) { r.mutable_amount()->set_amount_minor(-5); });
  for (const char* currency : {"", "usd", "US", "USDD", "U$D", "ÜSD", "Usd"}) {
    add(std::string("currency \"") + currency + "\"", "amount.currency",
        [currency](Req& r) { r.mutable_amount()->set_currency(currency); });
  }
  add("no method", "method.token", [](Req& r) { r.clear_method(); });
  add("empty token", "method.token", [](Req& r) { r.mutable_method()->set_token(""); });
  add("unknown token", "method.token", [](Req& r) { r.mutable_method()->set_token("tok_other"); });
  add("token in other case", "method.token",
      [](Req& r) { r.mutable_method()->set_token("TOK_APPROVE"); });
  add("empty idempotency_key", "idempotency_key", [](Req& r) { r.clear_idempotency_key(); });
  add("idempotency_key of 129 bytes", "idempotency_key",
      [](Req& r) { r.set_idempotency_key(std::string(129, 'k')); });
  return cases;
}

TEST_F(PaymentServiceTest, EveryInvalidFieldIsInvalidArgumentNamingIt) {
  for (const InvalidCase& c : InvalidCases()) {
    EXPECT_TRUE(IsErrorNaming(Process(*stub_, c.request), StatusCode::INVALID_ARGUMENT, c.field))
        << c.what;
  }
  EXPECT_EQ(Charges(), 0u);
  // Nothing was recorded under the key: a valid request with it is a fresh payment.
  v1::PaymentResult result;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("validation-key"), &result).ok());
  EXPECT_EQ(result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(PaymentServiceTest, UnknownTokenMessageListsTheKnownTokens) {
  Status status = Process(*stub_, PaymentRequest("tokens", "tok_other"));
  ASSERT_TRUE(HasCode(status, StatusCode::INVALID_ARGUMENT));
  for (const char* token : {"tok_approve", "tok_decline", "tok_slow", "tok_timeout", "tok_other"}) {
    EXPECT_NE(status.error_message().find(token), std::string::npos) << Describe(status);
  }
}

TEST_F(PaymentServiceTest, LimitsAreInclusive) {
  v1::PaymentResult result;
  Status status = Process(
      *stub_, PaymentRequest(std::string(128, 'k'), "tok_approve", std::string(128, 'o'), 1),
      &result);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(result.order_id().size(), 128u);
  EXPECT_EQ(result.idempotency_key().size(), 128u);
  EXPECT_EQ(result.amount().amount_minor(), 1);
}

}  // namespace
}  // namespace percore::payment_test
