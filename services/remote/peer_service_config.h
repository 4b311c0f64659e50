#pragma once
// Threading contract: pure function; any thread.
//
// The gRPC service config of a peer's channel: round_robin over every replica (gRPC's default,
// pick_first, would send everything to one), and a retry policy only for the methods that are
// safe to send twice (idempotent by contract or by key): a retry on UNAVAILABLE may reach a
// replica after the first attempt already did the work.

#include <chrono>
#include <string>
#include <vector>

namespace percore::remote {

struct RetryPolicy {
  int max_attempts = 3;  // first attempt included; gRPC caps this at 5
  std::chrono::milliseconds initial_backoff{20};
  std::chrono::milliseconds max_backoff{200};
  double backoff_multiplier = 2;
};

// `service` is the full name ("payment.v1.PaymentService"); `retryable_methods` its idempotent
// methods ("ProcessPayment"), retried on UNAVAILABLE only.
std::string PeerServiceConfig(const std::string& service,
                              const std::vector<std::string>& retryable_methods,
                              const RetryPolicy& retry = {});

}  // namespace percore::remote
