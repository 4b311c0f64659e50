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

constexpr std::array<FamilyInfo, 12> kFamilies = {{
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
    {StateFamily::kCompensationsPending, "percore_order_compensations_pending",
     "FAILED or CANCELLED orders on the shard whose compensation (a refund, a hold's release, a "
     "stock return) failed and is being retried in the background (compensation_pending).",
     prometheus::MetricType::Gauge},
    {StateFamily::kWalBytes, "percore_wal_bytes_total",
     "Record bytes the store's write-ahead log wrote on the shard since start.",
     prometheus::MetricType::Counter},
    {StateFamily::kWalFsyncs, "percore_wal_fsyncs_total",
     "fsyncs of the store's write-ahead log on the shard since start (group commit: one covers "
     "every record written before it).",
     prometheus::MetricType::Counter},
    {StateFamily::kWalFsyncSeconds, "percore_wal_fsync_seconds_total",
     "Time the shard's log writer spent in those fsyncs; divided by the fsyncs, their mean "
     "latency.",
     prometheus::MetricType::Counter},
    {StateFamily::kSnapshots, "percore_snapshots_total",
     "Snapshots of the store taken while serving on the shard since start, by result (ok, failed).",
     prometheus::MetricType::Counter},
    {StateFamily::kSnapshotLastTimestamp, "percore_snapshot_last_timestamp_seconds",
     "When the store's last snapshot on the shard was in place (seconds since the epoch; 0: none "
     "since start). Its age: time() minus this.",
     prometheus::MetricType::Gauge},
    {StateFamily::kSnapshotLastBytes, "percore_snapshot_last_bytes",
     "Size of the store's last snapshot file on the shard (0: none since start).",
     prometheus::MetricType::Gauge},
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
