#pragma once
// Threading contract: values and const member functions; any thread.
//
// The card processor payment.v1 talks to, simulated: the test token of the payment method alone
// decides the outcome, so every run is reproducible (payment.proto lists the tokens). No money
// moves and nothing here waits: the simulator says what the processor answers and when, and the
// handler keeps the time with the shard's timers.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace percore::payment {

enum class TestToken {
  kApprove,  // "tok_approve": approved at once
  kDecline,  // "tok_decline": declined at once
  kSlow,     // "tok_slow": approved after the slow delay
  kTimeout,  // "tok_timeout": never answered
};

// nullopt for a token the simulator does not know.
std::optional<TestToken> ParseTestToken(std::string_view token);
std::string_view TestTokenName(TestToken token);
// "tok_approve, tok_decline, tok_slow, tok_timeout", for error messages.
std::string_view KnownTestTokens();

struct ProcessorAnswer {
  enum class When { kNow, kAfterDelay, kNever };
  When when = When::kNow;
  std::chrono::milliseconds delay{0};  // with kAfterDelay
  bool approved = false;
  std::string decline_reason;  // when not approved
};

class ProcessorSimulator {
 public:
  explicit ProcessorSimulator(std::chrono::milliseconds slow_delay) : slow_delay_(slow_delay) {}
  ProcessorAnswer Answer(TestToken token) const;

 private:
  std::chrono::milliseconds slow_delay_;
};

}  // namespace percore::payment
