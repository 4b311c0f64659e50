#include "services/payment/processor_simulator.h"

namespace percore::payment {

std::optional<TestToken> ParseTestToken(std::string_view token) {
  if (token == "tok_approve") return TestToken::kApprove;
  if (token == "tok_decline") return TestToken::kDecline;
  if (token == "tok_slow") return TestToken::kSlow;
  if (token == "tok_timeout") return TestToken::kTimeout;
  return std::nullopt;
}

std::string_view TestTokenName(TestToken token) {
  switch (token) {
    case TestToken::kApprove:
      return "tok_approve";
    case TestToken::kDecline:
      return "tok_decline";
    case TestToken::kSlow:
      return "tok_slow";
    case TestToken::kTimeout:
      return "tok_timeout";
  }
  return "tok_unknown";
}

std::string_view KnownTestTokens() { return "tok_approve, tok_decline, tok_slow, tok_timeout"; }

ProcessorAnswer ProcessorSimulator::Answer(TestToken token) const {
  ProcessorAnswer answer;
  switch (token) {
    case TestToken::kApprove:
      answer.approved = true;
      break;
    case TestToken::kDecline:
      answer.decline_reason = "card_declined";
      break;
    case TestToken::kSlow:
      answer.when = ProcessorAnswer::When::kAfterDelay;
      answer.delay = slow_delay_;
      answer.approved = true;
      break;
    case TestToken::kTimeout:
      answer.when = ProcessorAnswer::When::kNever;
      break;
  }
  return answer;
}

}  // namespace percore::payment
