#include "services/remote/peer_service_config.h"

#include <cstdio>

namespace percore::remote {
namespace {

// gRPC's JSON durations: decimal seconds with an "s" suffix.
std::string Seconds(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3fs", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

}  // namespace

std::string PeerServiceConfig(const std::string& service,
                              const std::vector<std::string>& retryable_methods,
                              const RetryPolicy& retry) {
  std::string config = R"({"loadBalancingConfig":[{"round_robin":{}}])";
  if (!retryable_methods.empty()) {
    std::string names;
    for (const std::string& method : retryable_methods) {
      if (!names.empty()) names += ",";
      names += R"({"service":")" + service + R"(","method":")" + method + R"("})";
    }
    char multiplier[32];
    std::snprintf(multiplier, sizeof(multiplier), "%g", retry.backoff_multiplier);
    config += R"(,"methodConfig":[{"name":[)" + names + R"(],"retryPolicy":{"maxAttempts":)" +
              std::to_string(retry.max_attempts) + R"(,"initialBackoff":")" +
              Seconds(retry.initial_backoff) + R"(","maxBackoff":")" + Seconds(retry.max_backoff) +
              R"(","backoffMultiplier":)" + multiplier +
              R"(,"retryableStatusCodes":["UNAVAILABLE"]}}])";
  }
  return config + "}";
}

}  // namespace percore::remote
