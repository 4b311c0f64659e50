#include "services/gateway/http_metrics.h"

#include <limits>

#include "core/observe/exposition.h"

namespace percore::gateway {

namespace {

using observe::Family;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::string_view kWebSocketPaths[] = {"/v1/orders/stream", "/v1/users/stream",
                                                "/v1/support/chat"};
// The methods an unrouted request is counted by (anything else: OTHER), so a client sending
// made-up methods cannot make series.
constexpr std::string_view kMethods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                         "PATCH", "DELETE", "OPTIONS", "OTHER"};

}  // namespace

HttpMetrics::HttpMetrics() {
  for (const Route& route : RestRoutes()) {
    Add(std::string(route.pattern), std::string(route.http_method), route.success_status);
  }
  generic_ = Add("/{package.Service}/{Method}", "POST", 200);
  static_ = Add("/ (web page)", "GET", 200);
  Add("/ (web page)", "HEAD", 200);  // static_ + 1
  websocket_first_ = static_cast<int>(series_.size());
  for (std::string_view path : kWebSocketPaths) Add(std::string(path), "GET", 101);
  unrouted_first_ = static_cast<int>(series_.size());
  for (std::string_view method : kMethods) Add("(unrouted)", std::string(method), 404);
}

int HttpMetrics::Add(std::string route, std::string method, int success) {
  auto series = std::make_unique<Series>();
  series->route = std::move(route);
  series->method = std::move(method);
  series->success = success;
  series_.push_back(std::move(series));
  return static_cast<int>(series_.size()) - 1;
}

int HttpMetrics::RouteLabel(const Route& route) {
  return static_cast<int>(&route - RestRoutes().data());  // the REST routes come first
}

int HttpMetrics::WebSocketLabel(std::string_view path) const {
  for (size_t i = 0; i < std::size(kWebSocketPaths); ++i) {
    if (kWebSocketPaths[i] == path) return websocket_first_ + static_cast<int>(i);
  }
  return -1;
}

void HttpMetrics::Count(int label, std::string_view method, int status,
                        std::chrono::nanoseconds elapsed) {
  if (label < 0 || label >= static_cast<int>(series_.size())) {
    size_t m = 0;
    while (m + 1 < std::size(kMethods) && kMethods[m] != method) ++m;
    label = unrouted_first_ + static_cast<int>(m);
  }
  Series& series = *series_[label];
  size_t code = 0;
  while (code + 1 < kCodes.size() && kCodes[code] != status) ++code;
  series.by_code[code].Add();
  if (elapsed.count() >= 0) series.seconds.Observe(elapsed.count());
}

void HttpMetrics::AppendFamilies(std::vector<MetricFamily>* out) const {
  MetricFamily requests = Family(
      "percore_http_requests_total",
      "HTTP requests answered by the gateway (--http), by route pattern, method and status code "
      "(WebSocket upgrades: 101).",
      MetricType::Counter);
  MetricFamily seconds = Family(
      "percore_http_request_duration_seconds",
      "Time from an HTTP request read by the gateway to its answer (seconds), by route pattern "
      "and method.",
      MetricType::Histogram);
  for (const auto& s : series_) {
    for (size_t code = 0; code < kCodes.size(); ++code) {
      uint64_t value = s->by_code[code].value();
      if (value == 0 && kCodes[code] != s->success) continue;
      ClientMetric& m = requests.metric.emplace_back();
      m.label = {{"code", kCodes[code] == 0 ? "other" : std::to_string(kCodes[code])},
                 {"method", s->method},
                 {"route", s->route}};
      m.counter.value = static_cast<double>(value);
    }
    if (s->success == 101) continue;  // upgrades are not timed
    ClientMetric& m = seconds.metric.emplace_back();
    m.label = {{"method", s->method}, {"route", s->route}};
    uint64_t cumulative = 0;
    for (size_t b = 0; b < observe::LatencyHistogram::kBuckets; ++b) {
      cumulative += s->seconds.bucket(b);
      double bound = b < observe::LatencyHistogram::kBoundsNanos.size()
                         ? static_cast<double>(observe::LatencyHistogram::kBoundsNanos[b]) / 1e9
                         : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back({cumulative, bound});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = static_cast<double>(s->seconds.sum_nanos()) / 1e9;
  }
  out->push_back(std::move(requests));
  out->push_back(std::move(seconds));
}

}  // namespace percore::gateway
