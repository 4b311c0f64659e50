#include "core/observe/state_metrics.h"

#include <array>

namespace percore::observe {
namespace {

struct FamilyInfo {
  StateFamily family;
  const char* name;
  const char* help;
  prometheus::MetricType type;
};

constexpr std::array<FamilyInfo, 5> kFamilies = {{
    {StateFamily::kStorageRows, "percore_storage_rows", "Rows stored in the table on the shard.",
     prometheus::MetricType::Gauge},
    {StateFamily::kStorageBytes, "percore_storage_bytes",
     "Bytes of the table's stored rows (serialized) on the shard.", prometheus::MetricType::Gauge},
    {StateFamily::kStreamsOpen, "percore_streams_open",
     "Long-lived streams (watchers, chat sessions) open on the shard that serves them.",
     prometheus::MetricType::Gauge},
    {StateFamily::kReservationsHeld, "percore_reservations_held",
     "Stock reservations in state HELD whose record the shard keeps.",
     prometheus::MetricType::Gauge},
    {StateFamily::kOrdersFinished, "percore_orders_finished_total",
     "Orders whose saga reached a final status (CONFIRMED, FAILED by failure code, CANCELLED) on "
     "the shard since start; a confirmed order cancelled later counts in both.",
     prometheus::MetricType::Counter},
}};

}  // namespace

void AppendStateFamilies(const std::vector<std::vector<StateSample>>& per_shard,
                         std::vector<prometheus::MetricFamily>* out) {
  for (const FamilyInfo& info : kFamilies) {
    prometheus::MetricFamily family;
    family.name = info.name;
    family.help = info.help;
    family.type = info.type;
    for (size_t shard = 0; shard < per_shard.size(); ++shard) {
      for (const StateSample& sample : per_shard[shard]) {
        if (sample.family != info.family) continue;
        prometheus::ClientMetric& metric = family.metric.emplace_back();
        for (const auto& [name, value] : sample.labels) metric.label.push_back({name, value});
        metric.label.push_back({"shard", std::to_string(shard)});
        if (info.type == prometheus::MetricType::Counter) {
          metric.counter.value = sample.value;
        } else {
          metric.gauge.value = sample.value;
        }
      }
    }
    if (!family.metric.empty()) out->push_back(std::move(family));
  }
}

}  // namespace percore::observe
