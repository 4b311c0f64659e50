// The human rendering of a LoadReport, laid out as ghz's summary so the two read alike.

#include <algorithm>
#include <cstdio>

#include "tools/load/report.h"

namespace percore::load {
namespace {

std::string Format(const char* format, auto... args) {
  char text[256];
  std::snprintf(text, sizeof text, format, args...);
  return text;
}

std::string Millis(int64_t ns) { return Format("%.2f ms", static_cast<double>(ns) / 1e6); }

std::string Percentage(double p) {
  return p == static_cast<double>(static_cast<int64_t>(p)) ? Format("%lld", (long long)p)
                                                           : Format("%.1f", p);
}

}  // namespace

std::string RenderSummary(const LoadReport& r) {
  std::string out = "\nSummary:\n";
  out += Format("  Count:\t%llu\n", static_cast<unsigned long long>(r.count));
  out += "  Total:\t" + Millis(r.total_ns) + "\n";
  out += "  Slowest:\t" + Millis(r.slowest_ns) + "\n";
  out += "  Fastest:\t" + Millis(r.fastest_ns) + "\n";
  out += "  Average:\t" + Millis(r.average_ns) + "\n";
  out += Format("  Requests/sec:\t%.2f\n", r.rps);
  if (r.streaming) {
    out += Format("  Messages sent:\t%llu\n", static_cast<unsigned long long>(r.messages_sent));
    out += Format("  Messages received:\t%llu (%.2f/s)\n",
                  static_cast<unsigned long long>(r.messages_received), r.messages_per_second);
    out += Format("  Bytes received:\t%llu (%.2f/s)\n",
                  static_cast<unsigned long long>(r.bytes_received), r.bytes_per_second);
  }

  out += "\nResponse time histogram:\n";
  uint64_t tallest = 0;
  for (const HistogramBar& b : r.histogram) tallest = std::max(tallest, b.count);
  for (const HistogramBar& b : r.histogram) {
    out +=
        Format("  %.3f [%llu]\t|", b.mark_seconds * 1e3, static_cast<unsigned long long>(b.count));
    size_t length = tallest ? static_cast<size_t>(b.count * 40 / tallest) : 0;
    for (size_t i = 0; i < length; ++i) out += "\u220e";
    out += "\n";
  }

  out += "\nLatency distribution:\n";
  for (const LatencyPoint& p : r.latency_distribution) {
    out += "  " + Percentage(p.percentage) + " % in " + Millis(p.latency_ns) + " \n";
  }

  if (!r.status_codes.empty()) {
    out += "\nStatus code distribution:\n";
    for (const auto& [name, n] : r.status_codes) {
      out += Format("  [%s]\t%llu responses\n", name.c_str(), static_cast<unsigned long long>(n));
    }
  }
  if (!r.errors.empty()) {
    out += "\nError distribution:\n";
    for (const auto& [text, n] : r.errors) {
      out += Format("  [%llu]\t", static_cast<unsigned long long>(n)) + text + "\n";
    }
  }
  out += "\n";
  return out;
}

}  // namespace percore::load
