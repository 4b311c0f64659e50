#pragma once
// Threading contract: as cluster_inventory_client.h (a Parts lives on the shard of its call).
//
// What ClusterInventoryClient's two files share (cluster_inventory_client.cc: reads, holds;
// cluster_reservation_commit.cc: the commit and release of a reservation spanning partitions):
// the parts' id and key conventions and one spanning call's state.

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "inventory/v1/inventory.pb.h"
#include "services/clients/call_options.h"
#include "services/cluster/cluster_inventory_client.h"

namespace percore::cluster {
namespace inventory_parts {

namespace inv = ::inventory::v1;

inline constexpr char kInventory[] = "/inventory.v1.InventoryService/";
inline constexpr char kPartSeparator = '.';
inline constexpr std::string_view kPartKeyMark = "#p";

inline std::string PartKey(const std::string& key, PartitionId partition) {
  return key + std::string(kPartKeyMark) + std::to_string(partition);
}

// The caller's key back from a part's key.
inline std::string CallerKey(const std::string& part_key) {
  size_t mark = part_key.rfind(kPartKeyMark);
  return mark == std::string::npos ? part_key : part_key.substr(0, mark);
}

inline std::vector<std::string> SplitParts(const std::string& id) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    size_t end = id.find(kPartSeparator, begin);
    parts.push_back(id.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

inline bool Earlier(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

inline std::string Path(const char* method) { return std::string(kInventory) + method; }

// A part's call that may have been held on its partition all the same (it timed out, the
// connection broke after sending): not a refusal.
inline bool OutcomeUnknown(const Status& status) {
  return status.code() == StatusCode::kDeadlineExceeded ||
         status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kCancelled ||
         status.code() == StatusCode::kInternal || status.code() == StatusCode::kUnknown;
}

// How long the settling of a part whose outcome is unknown may take (its own budget: the
// caller's deadline may be what ran out).
inline constexpr std::chrono::seconds kSettleBudget{2};

// How long the later parts of a reservation whose first part was committed are retried after the
// caller's deadline (a hold's default ttl: past it, the part has expired anyway).
inline constexpr std::chrono::seconds kCommitBudget{60};

// 100 ms, 200 ms, ... 800 ms between the attempts at a part that must be committed.
inline std::chrono::milliseconds CommitBackoff(int attempt) {
  return std::chrono::milliseconds(100) * (1 << std::min(attempt, 3));
}

}  // namespace inventory_parts

struct ClusterInventoryClient::Parts {
  std::string key;                      // the caller's reservation key
  std::vector<std::string> asked;       // the SKUs in the order asked (ReserveStock)
  std::vector<PartitionId> partitions;  // ascending (ReserveStock)
  std::vector<::inventory::v1::ReserveStockRequest> requests;
  std::vector<std::string> ids;                    // each part's id, ascending by partition
  std::vector<::inventory::v1::Reservation> held;  // the parts' answers so far
  clients::CallOptions options;
  clients::Done<::inventory::v1::Reservation> done;
  size_t pending = 0;
  Status first_error;
  std::string unreleased;  // releases that failed while undoing a refused reservation
  // Commit: the parts go forward once the first is committed (retried until kCommitBudget).
  bool rolling_forward = false;  // a release found the first part committed: commit the rest
  int attempts = 0;              // at the current part
  size_t paused_before = 0;      // the test hook's pause: the last part it paused before
  std::chrono::system_clock::time_point give_up{};  // set when the caller has been answered

  // Answers the caller once (a commit may go on after it, in the background).
  void Answer(const Status& status, ::inventory::v1::Reservation reservation) {
    if (!done) return;
    clients::Done<::inventory::v1::Reservation> answer = std::move(done);
    done = nullptr;
    answer(status, std::move(reservation));
  }

  // The parts as one reservation (the class comment says how).
  ::inventory::v1::Reservation Merged() const {
    ::inventory::v1::Reservation merged;
    std::string id;
    for (const ::inventory::v1::Reservation& part : held) {
      if (!id.empty()) id += inventory_parts::kPartSeparator;
      id += part.id();
    }
    merged.set_id(id);
    merged.set_reservation_key(
        key.empty() && !held.empty() ? inventory_parts::CallerKey(held[0].reservation_key()) : key);
    std::map<std::string, const ::inventory::v1::StockLine*, std::less<>> by_sku;
    for (const ::inventory::v1::Reservation& part : held) {
      for (const ::inventory::v1::StockLine& line : part.lines()) by_sku.emplace(line.sku(), &line);
    }
    if (!asked.empty()) {
      for (const std::string& sku : asked) {
        if (auto it = by_sku.find(sku); it != by_sku.end()) *merged.add_lines() = *it->second;
      }
    } else {
      for (const ::inventory::v1::Reservation& part : held) {
        for (const ::inventory::v1::StockLine& line : part.lines()) *merged.add_lines() = line;
      }
    }
    merged.set_state(::inventory::v1::Reservation::RESERVATION_STATE_HELD);
    for (size_t i = 0; i < held.size(); ++i) {
      const ::inventory::v1::Reservation& part = held[i];
      if (merged.state() == ::inventory::v1::Reservation::RESERVATION_STATE_HELD) {
        merged.set_state(part.state());
      }
      if (i == 0 || inventory_parts::Earlier(part.expires_at(), merged.expires_at())) {
        *merged.mutable_expires_at() = part.expires_at();
      }
      if (i == 0 || inventory_parts::Earlier(part.created_at(), merged.created_at())) {
        *merged.mutable_created_at() = part.created_at();
      }
      if (i == 0 || inventory_parts::Earlier(merged.updated_at(), part.updated_at())) {
        *merged.mutable_updated_at() = part.updated_at();
      }
    }
    return merged;
  }
};

}  // namespace percore::cluster
