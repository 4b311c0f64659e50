#pragma once
// Threading contract: Count() only from the gateway's io thread (core/http's server thread, the
// one writer: OwnedCounter stores, no atomic read-modify-write); AppendFamilies() from any
// thread (the admin listener's scrape), reading the counters as relaxed atomics. The series
// are all made at construction and never change, so the two sides share no lock.
//
// The gateway's HTTP series on the admin /metrics (issue 12): requests by route (the route's
// pattern, not the path: ids do not make series), method and status code, and the time from
// the request read to its answer as a histogram with grpc_server_handling_seconds' buckets
// (core/observe/latency_histogram.h). Every known route × method has its success code's series
// from the start (zero); other codes appear once seen.

#include <prometheus/metric_family.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/observe/latency_histogram.h"
#include "core/observe/owned_counter.h"
#include "services/gateway/routes.h"

namespace percore::gateway {

class HttpMetrics {
 public:
  HttpMetrics();

  // The label (a Response's `label`) of a REST route, of the generic route, of static files,
  // of a WebSocket endpoint ("/v1/orders/stream"; -1 when unknown).
  static int RouteLabel(const Route& route);
  int generic_label() const { return generic_; }
  int static_label(std::string_view method) const {
    return method == "HEAD" ? static_ + 1 : static_;
  }
  int WebSocketLabel(std::string_view path) const;

  // One answer: `label` -1 is a request that matched no route (or was refused before routing:
  // 400, 413, 431, 503 while draining), counted by its method. `elapsed` < 0: not timed (a
  // WebSocket upgrade, 101).
  void Count(int label, std::string_view method, int status, std::chrono::nanoseconds elapsed);

  void AppendFamilies(std::vector<prometheus::MetricFamily>* out) const;

 private:
  // The status codes the gateway and core/http answer with; anything else counts as "other".
  static constexpr std::array<int, 20> kCodes = {101, 200, 201, 204, 400, 401, 403, 404, 405, 409,
                                                 413, 415, 429, 431, 499, 500, 501, 503, 504, 0};
  struct Series {
    std::string route;
    std::string method;
    int success = 200;  // its series exists from the start
    std::array<observe::OwnedCounter, kCodes.size()> by_code;
    observe::LatencyHistogram seconds;
  };
  int Add(std::string route, std::string method, int success);

  std::vector<std::unique_ptr<Series>> series_;  // fixed after construction
  int generic_ = 0;
  int static_ = 0;
  int websocket_first_ = 0;  // the three WebSocket endpoints, in kWebSocketPaths' order
  int unrouted_first_ = 0;   // one per method in kMethods' order
};

}  // namespace percore::gateway
