#pragma once
// Threading contract: a StateSample is made on the shard whose memory it reads (by the service's
// reader, at scrape time, through that shard's mailbox) and handed to the admin listener's
// thread, which builds the families; nothing here is shared while it is written.
//
// percore's state series: what the services hold (rows and bytes per table, open streams, held
// reservations) and what their sagas ended with (orders by final status and failure code). The
// services keep these as plain values in their shard's own memory (a size(), a counter bumped by
// the shard itself); a scrape asks each shard for them, so the request path pays nothing, not
// even a relaxed store (README.md, "State series").

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace percore::observe {

// Every state family; names, help texts and types in state_metrics.cc.
enum class StateFamily {
  kStorageRows,           // gauge, labels table
  kStorageBytes,          // gauge, labels table
  kStreamsOpen,           // gauge, labels grpc_service, grpc_method
  kReservationsHeld,      // gauge
  kOrdersFinished,        // counter, labels status, failure_code
  kCompensationsPending,  // gauge
  // The write-ahead log and snapshots of each durable store (core/durability LogStats).
  kWalBytes,               // counter, labels store
  kWalFsyncs,              // counter, labels store
  kWalFsyncSeconds,        // counter, labels store
  kSnapshots,              // counter, labels store, result (ok, failed)
  kSnapshotLastTimestamp,  // gauge, labels store (seconds since the epoch; 0: none yet)
  kSnapshotLastBytes,      // gauge, labels store
};

struct StateSample {
  StateFamily family;
  std::vector<std::pair<std::string, std::string>> labels;  // the shard label is added
  double value = 0;
};

// The state families from every shard's samples (`per_shard[i]` from shard i), each series
// labelled with its shard. A family without any sample is left out.
void AppendStateFamilies(const std::vector<std::vector<StateSample>>& per_shard,
                         std::vector<prometheus::MetricFamily>* out);

}  // namespace percore::observe
