#include "tools/load/report.h"

#include <ctime>

#include "tools/grpcdyn/status_names.h"

namespace percore::load {
namespace {

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// ghz's histogram: ten equal bars from fastest to slowest plus one at slowest, each value
// counted in the first bar whose mark is not below it. Built from the HDR buckets' midpoints,
// so it costs no stored samples.
std::vector<HistogramBar> Bars(const LatencyHistogram& h) {
  std::vector<HistogramBar> bars;
  if (h.count() == 0) return bars;
  constexpr int kBars = 10;
  double fastest = static_cast<double>(h.min_ns());
  double slowest = static_cast<double>(h.max_ns());
  double width = (slowest - fastest) / kBars;
  std::vector<double> marks(kBars + 1);
  for (int i = 0; i < kBars; ++i) marks[i] = fastest + width * i;
  marks[kBars] = slowest;
  std::vector<uint64_t> counts(kBars + 1, 0);
  size_t bar = 0;
  bool first = true;
  h.ForEachBucket([&](int64_t value_ns, uint64_t n) {
    // The fastest call's bucket stands for the fastest call, which ghz puts in the first bar.
    if (first) value_ns = h.min_ns();
    first = false;
    while (bar<kBars&& static_cast<double>(value_ns)> marks[bar]) ++bar;
    counts[bar] += n;
  });
  for (int i = 0; i <= kBars; ++i) {
    bars.push_back(HistogramBar{marks[i] / 1e9, counts[i],
                                static_cast<double>(counts[i]) / static_cast<double>(h.count())});
  }
  return bars;
}

}  // namespace

LoadReport BuildReport(RunResult& run, nlohmann::ordered_json options, bool streaming,
                       bool with_details) {
  const RunStats& stats = run.stats;
  const LatencyHistogram& h = stats.latencies();
  LoadReport r;
  r.date = Rfc3339(run.date);
  r.end_reason = run.end_reason;
  r.options = std::move(options);
  r.count = stats.count();
  r.total_ns = run.total.count();
  r.average_ns = h.mean_ns();
  r.fastest_ns = h.min_ns();
  r.slowest_ns = h.max_ns();
  double seconds = static_cast<double>(r.total_ns) / 1e9;
  r.rps = seconds > 0 ? static_cast<double>(r.count) / seconds : 0;
  r.errors = stats.errors();
  for (const auto& [code, n] : stats.status_codes()) {
    r.status_codes[grpcdyn::StatusCodeName(code)] += n;
  }
  if (r.count > 0) {
    for (double p : kPercentiles) r.latency_distribution.push_back({p, h.ValueAtPercentile(p)});
  }
  r.histogram = Bars(h);
  r.streaming = streaming;
  r.messages_sent = stats.messages_sent();
  r.messages_received = stats.messages_received();
  r.bytes_received = stats.bytes_received();
  if (seconds > 0) {
    r.messages_per_second = static_cast<double>(r.messages_received) / seconds;
    r.bytes_per_second = static_cast<double>(r.bytes_received) / seconds;
  }
  r.with_details = with_details;
  if (with_details) r.details = std::move(run.stats.details());
  return r;
}

}  // namespace percore::load
