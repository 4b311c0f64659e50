// The JSON rendering of a LoadReport: ghz's keys and types, in ghz's order.

#include <ctime>

#include "tools/grpcdyn/status_names.h"
#include "tools/load/report.h"

namespace percore::load {
namespace {

std::string Rfc3339Nanos(int64_t unix_ns) {
  std::time_t seconds = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[48];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%09lldZ",
                static_cast<long long>(unix_ns % 1000000000));
  return text;
}

// ghz's percentages are integers; 99.9 is the one that is not.
nlohmann::ordered_json Percentage(double p) {
  if (p == static_cast<double>(static_cast<int64_t>(p))) return static_cast<int64_t>(p);
  return p;
}

}  // namespace

std::string RenderJson(const LoadReport& r, bool pretty) {
  nlohmann::ordered_json j;
  j["date"] = r.date;
  j["endReason"] = r.end_reason;
  j["options"] = r.options;
  j["count"] = r.count;
  j["total"] = r.total_ns;
  j["average"] = r.average_ns;
  j["fastest"] = r.fastest_ns;
  j["slowest"] = r.slowest_ns;
  j["rps"] = r.rps;
  j["errorDistribution"] = nlohmann::ordered_json::object();
  for (const auto& [text, n] : r.errors) j["errorDistribution"][text] = n;
  j["statusCodeDistribution"] = nlohmann::ordered_json::object();
  for (const auto& [name, n] : r.status_codes) j["statusCodeDistribution"][name] = n;
  j["latencyDistribution"] = nlohmann::ordered_json::array();
  for (const LatencyPoint& p : r.latency_distribution) {
    j["latencyDistribution"].push_back(
        {{"percentage", Percentage(p.percentage)}, {"latency", p.latency_ns}});
  }
  j["histogram"] = nlohmann::ordered_json::array();
  for (const HistogramBar& b : r.histogram) {
    j["histogram"].push_back(
        {{"mark", b.mark_seconds}, {"count", b.count}, {"frequency", b.frequency}});
  }
  if (r.streaming) {
    j["messagesSent"] = r.messages_sent;
    j["messagesReceived"] = r.messages_received;
    j["bytesReceived"] = r.bytes_received;
    j["messagesPerSecond"] = r.messages_per_second;
    j["bytesPerSecond"] = r.bytes_per_second;
  }
  if (r.with_details) {
    j["details"] = nlohmann::ordered_json::array();
    for (const CallDetail& d : r.details) {
      j["details"].push_back({{"timestamp", Rfc3339Nanos(d.timestamp_unix_ns)},
                              {"latency", d.latency_ns},
                              {"error", d.error},
                              {"status", grpcdyn::StatusCodeName(d.code)}});
    }
  }
  return j.dump(pretty ? 2 : -1) + "\n";
}

}  // namespace percore::load
