#include "services/cluster/cluster_inventory_client.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/observe/log.h"
#include "core/rpc/serialized_message.h"
#include "services/cluster/member_call.h"

namespace percore::cluster {
namespace {

namespace inv = ::inventory::v1;

constexpr char kInventory[] = "/inventory.v1.InventoryService/";
constexpr char kPartSeparator = '.';
constexpr std::string_view kPartKeyMark = "#p";

std::string PartKey(const std::string& key, PartitionId partition) {
  return key + std::string(kPartKeyMark) + std::to_string(partition);
}

// The caller's key back from a part's key.
std::string CallerKey(const std::string& part_key) {
  size_t mark = part_key.rfind(kPartKeyMark);
  return mark == std::string::npos ? part_key : part_key.substr(0, mark);
}

std::vector<std::string> SplitParts(const std::string& id) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    size_t end = id.find(kPartSeparator, begin);
    parts.push_back(id.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

bool Earlier(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

std::string Path(const char* method) { return std::string(kInventory) + method; }

// A part's call that may have been held on its partition all the same (it timed out, the
// connection broke after sending): not a refusal.
bool OutcomeUnknown(const Status& status) {
  return status.code() == StatusCode::kDeadlineExceeded ||
         status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kCancelled ||
         status.code() == StatusCode::kInternal || status.code() == StatusCode::kUnknown;
}

// How long the settling of a part whose outcome is unknown may take (its own budget: the
// caller's deadline may be what ran out).
constexpr std::chrono::seconds kSettleBudget{2};

// How long the later parts of a reservation whose first part was committed are retried after the
// caller's deadline (a hold's default ttl: past it, the part has expired anyway).
constexpr std::chrono::seconds kCommitBudget{60};

// 100 ms, 200 ms, ... 800 ms between the attempts at a part that must be committed.
std::chrono::milliseconds CommitBackoff(int attempt) {
  return std::chrono::milliseconds(100) * (1 << std::min(attempt, 3));
}

}  // namespace

struct ClusterInventoryClient::Parts {
  std::string key;                      // the caller's reservation key
  std::vector<std::string> asked;       // the SKUs in the order asked (ReserveStock)
  std::vector<PartitionId> partitions;  // ascending (ReserveStock)
  std::vector<inv::ReserveStockRequest> requests;
  std::vector<std::string> ids;        // each part's id, ascending by partition
  std::vector<inv::Reservation> held;  // the parts' answers so far
  clients::CallOptions options;
  clients::Done<inv::Reservation> done;
  size_t pending = 0;
  Status first_error;
  std::string unreleased;  // releases that failed while undoing a refused reservation
  // Commit: the parts go forward once the first is committed (retried until kCommitBudget).
  bool rolling_forward = false;  // a release found the first part committed: commit the rest
  int attempts = 0;              // at the current part
  std::chrono::system_clock::time_point give_up{};  // set when the caller has been answered

  // Answers the caller once (a commit may go on after it, in the background).
  void Answer(const Status& status, inv::Reservation reservation) {
    if (!done) return;
    clients::Done<inv::Reservation> answer = std::move(done);
    done = nullptr;
    answer(status, std::move(reservation));
  }

  // The parts as one reservation (the class comment says how).
  inv::Reservation Merged() const {
    inv::Reservation merged;
    std::string id;
    for (const inv::Reservation& part : held) {
      if (!id.empty()) id += kPartSeparator;
      id += part.id();
    }
    merged.set_id(id);
    merged.set_reservation_key(key.empty() && !held.empty() ? CallerKey(held[0].reservation_key())
                                                            : key);
    std::map<std::string, const inv::StockLine*, std::less<>> by_sku;
    for (const inv::Reservation& part : held) {
      for (const inv::StockLine& line : part.lines()) by_sku.emplace(line.sku(), &line);
    }
    if (!asked.empty()) {
      for (const std::string& sku : asked) {
        if (auto it = by_sku.find(sku); it != by_sku.end()) *merged.add_lines() = *it->second;
      }
    } else {
      for (const inv::Reservation& part : held) {
        for (const inv::StockLine& line : part.lines()) *merged.add_lines() = line;
      }
    }
    merged.set_state(inv::Reservation::RESERVATION_STATE_HELD);
    for (size_t i = 0; i < held.size(); ++i) {
      const inv::Reservation& part = held[i];
      if (merged.state() == inv::Reservation::RESERVATION_STATE_HELD) {
        merged.set_state(part.state());
      }
      if (i == 0 || Earlier(part.expires_at(), merged.expires_at())) {
        *merged.mutable_expires_at() = part.expires_at();
      }
      if (i == 0 || Earlier(part.created_at(), merged.created_at())) {
        *merged.mutable_created_at() = part.created_at();
      }
      if (i == 0 || Earlier(merged.updated_at(), part.updated_at())) {
        *merged.mutable_updated_at() = part.updated_at();
      }
    }
    return merged;
  }
};

ClusterInventoryClient::ClusterInventoryClient(ClusterPlacement placement,
                                               std::shared_ptr<MemberLinks> links,
                                               std::shared_ptr<clients::InventoryClient> local)
    : placement_(std::move(placement)), links_(std::move(links)), local_(std::move(local)) {}

void ClusterInventoryClient::GetProduct(inv::GetProductRequest request,
                                        const clients::CallOptions& options,
                                        clients::Done<inv::Product> done) {
  const PartitionId owner = placement_.OwnerOfCommerce(request.sku());
  LocalOrMember(*links_, placement_.self, owner, Path("GetProduct"), *local_,
                &clients::InventoryClient::GetProduct, std::move(request), options,
                std::move(done));
}

void ClusterInventoryClient::AdjustStock(inv::AdjustStockRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<inv::Product> done) {
  const PartitionId owner = placement_.OwnerOfCommerce(request.sku());
  LocalOrMember(*links_, placement_.self, owner, Path("AdjustStock"), *local_,
                &clients::InventoryClient::AdjustStock, std::move(request), options,
                std::move(done));
}

void ClusterInventoryClient::ReservePart(PartitionId partition, inv::ReserveStockRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<inv::Reservation> done) {
  LocalOrMember(*links_, placement_.self, partition, Path("ReserveStock"), *local_,
                &clients::InventoryClient::ReserveStock, std::move(request), options,
                std::move(done));
}

void ClusterInventoryClient::CommitPart(const std::string& id, const clients::CallOptions& options,
                                        clients::Done<inv::Reservation> done) {
  inv::CommitReservationRequest request;
  request.set_reservation_id(id);
  const PartitionId owner = placement_.OwnerOfCommerce(id);
  LocalOrMember(*links_, placement_.self, owner, Path("CommitReservation"), *local_,
                &clients::InventoryClient::CommitReservation, std::move(request), options,
                std::move(done));
}

void ClusterInventoryClient::ReleasePart(const std::string& id, const clients::CallOptions& options,
                                         clients::Done<inv::Reservation> done) {
  inv::ReleaseReservationRequest request;
  request.set_reservation_id(id);
  const PartitionId owner = placement_.OwnerOfCommerce(id);
  LocalOrMember(*links_, placement_.self, owner, Path("ReleaseReservation"), *local_,
                &clients::InventoryClient::ReleaseReservation, std::move(request), options,
                std::move(done));
}

void ClusterInventoryClient::ReserveStock(inv::ReserveStockRequest request,
                                          const clients::CallOptions& options,
                                          clients::Done<inv::Reservation> done) {
  std::map<PartitionId, std::vector<int>> lines_by_partition;  // ascending partitions
  for (int i = 0; i < request.lines_size(); ++i) {
    lines_by_partition[placement_.OwnerOfCommerce(request.lines(i).sku())].push_back(i);
  }
  // No key or no line: the local handler names the field. One partition: its own reservation.
  if (request.reservation_key().empty() || lines_by_partition.size() <= 1) {
    const PartitionId owner =
        lines_by_partition.empty() ? placement_.self : lines_by_partition.begin()->first;
    return ReservePart(owner, std::move(request), options, std::move(done));
  }
  auto parts = std::make_shared<Parts>();
  parts->key = request.reservation_key();
  parts->options = options;
  parts->done = std::move(done);
  for (const inv::StockLine& line : request.lines()) parts->asked.push_back(line.sku());
  for (const auto& [partition, lines] : lines_by_partition) {
    inv::ReserveStockRequest part;
    part.set_reservation_key(PartKey(request.reservation_key(), partition));
    if (request.has_ttl()) *part.mutable_ttl() = request.ttl();
    for (int i : lines) *part.add_lines() = request.lines(i);
    parts->partitions.push_back(partition);
    parts->requests.push_back(std::move(part));
  }
  ReserveNext(std::move(parts), 0);
}

void ClusterInventoryClient::ReserveNext(std::shared_ptr<Parts> parts, size_t next) {
  if (next == parts->partitions.size()) {
    clients::Done<inv::Reservation> done = std::move(parts->done);
    done(Status(), parts->Merged());
    return;
  }
  ReservePart(parts->partitions[next], parts->requests[next], parts->options,
              [this, parts, next](const Status& status, inv::Reservation reservation) {
                if (!status.ok()) {
                  if (OutcomeUnknown(status)) ReleaseUnknownPart(parts, next);
                  return ReleaseAll(parts, next, status);
                }
                parts->held.push_back(std::move(reservation));
                ReserveNext(parts, next + 1);
              });
}

void ClusterInventoryClient::ReleaseUnknownPart(const std::shared_ptr<Parts>& parts, size_t index) {
  // Looked up by its key (ReserveStock is idempotent by key: the hold if it was made, else one
  // made now) and released either way, without holding up the answer.
  clients::CallOptions settle;
  settle.deadline = std::chrono::system_clock::now() + kSettleBudget;
  ReservePart(parts->partitions[index], parts->requests[index], settle,
              [this, settle](const Status& status, inv::Reservation reservation) {
                if (!status.ok()) return;  // not reachable, or nothing to hold: the ttl ends it
                ReleasePart(reservation.id(), settle, [](const Status&, inv::Reservation) {});
              });
}

void ClusterInventoryClient::ReleaseAll(std::shared_ptr<Parts> parts, size_t count,
                                        Status outcome) {
  parts->first_error = std::move(outcome);
  if (count == 0) {
    clients::Done<inv::Reservation> done = std::move(parts->done);
    done(parts->first_error, inv::Reservation());
    return;
  }
  parts->pending = count;
  // Their own budget: the caller's deadline may be what ran out, and held stock must not wait
  // for its ttl because of it.
  clients::CallOptions release;
  release.deadline = std::chrono::system_clock::now() + kSettleBudget;
  for (size_t i = 0; i < count; ++i) {
    const std::string id = parts->held[i].id();
    ReleasePart(id, release, [parts, id](const Status& status, inv::Reservation) {
      if (!status.ok()) {
        parts->unreleased += "; the hold " + id + " already taken could not be released (" +
                             status.message() + "): it expires at its ttl";
      }
      if (--parts->pending > 0) return;
      clients::Done<inv::Reservation> done = std::move(parts->done);
      done(Status(parts->first_error.code(), parts->first_error.message() + parts->unreleased),
           inv::Reservation());
    });
  }
}

std::vector<std::string> ClusterInventoryClient::PartIds(
    const std::string& id, clients::Done<inv::Reservation>& done) const {
  std::vector<std::string> ids = SplitParts(id);
  if (ids.size() > placement_.initial_partitions()) {
    done(
        Status(StatusCode::kInvalidArgument,
               "reservation_id names " + std::to_string(ids.size()) + " parts, more than the " +
                   std::to_string(placement_.initial_partitions()) + " partitions of this cluster"),
        inv::Reservation());
    return {};
  }
  return ids;
}

void ClusterInventoryClient::CommitReservation(inv::CommitReservationRequest request,
                                               const clients::CallOptions& options,
                                               clients::Done<inv::Reservation> done) {
  std::vector<std::string> ids = PartIds(request.reservation_id(), done);
  if (ids.empty()) return;
  if (ids.size() == 1) return CommitPart(ids[0], options, std::move(done));
  auto parts = std::make_shared<Parts>();
  parts->ids = std::move(ids);
  parts->options = options;
  parts->done = std::move(done);
  CommitNext(std::move(parts), 0);
}

void ClusterInventoryClient::CommitNext(std::shared_ptr<Parts> parts, size_t next) {
  if (next == parts->ids.size()) {
    if (parts->rolling_forward) {
      parts->Answer(Status(StatusCode::kFailedPrecondition,
                           "reservation " + parts->Merged().id() +
                               " was committed (a commit spanning partitions is all or nothing: "
                               "its later parts were committed now)"),
                    inv::Reservation());
    } else {
      parts->Answer(Status(), parts->Merged());
    }
    return;
  }
  clients::CallOptions attempt = parts->options;
  const auto now = std::chrono::system_clock::now();
  if (parts->attempts > 0 || !parts->done) {
    attempt.deadline =
        std::min(parts->done ? parts->options.deadline : parts->give_up, now + kSettleBudget);
  }
  CommitPart(
      parts->ids[next], attempt,
      [this, parts, next](const Status& status, inv::Reservation reservation) {
        if (status.ok()) {
          parts->attempts = 0;
          parts->held.push_back(std::move(reservation));
          return CommitNext(parts, next + 1);
        }
        if (next == 0) {
          // Nothing committed: nothing to finish (a release undoes the holds).
          // Its release was refused and so is its commit: it expired, none was committed.
          if (parts->rolling_forward && status.code() == StatusCode::kFailedPrecondition) {
            return ReleaseRest(parts, status, inv::Reservation());
          }
          return parts->Answer(status, inv::Reservation());
        }
        // An earlier part is sold: this one must be too (commits are idempotent by id).
        const auto now = std::chrono::system_clock::now();
        const auto wait = CommitBackoff(parts->attempts++);
        if (OutcomeUnknown(status)) {
          if (parts->done && now + wait >= parts->options.deadline) {
            parts->give_up = now + kCommitBudget;
            parts->Answer(Status(status.code(), "the reservation's part " + parts->ids[next] +
                                                    " is not committed yet (its earlier parts "
                                                    "are; it is retried): " +
                                                    status.message()),
                          inv::Reservation());
          }
          if (parts->done || now + wait < parts->give_up) {
            runtime::Shard::Current()->RunAfter(wait,
                                                [this, parts, next] { CommitNext(parts, next); });
            return;
          }
        }
        // Refused (its hold expired or was released), or still unreachable after the budget:
        // the earlier parts stay sold. Said loudly: their units are to be returned by hand.
        observe::Log(observe::LogLevel::kError,
                     "percore: reservation part %s could not be committed (%s) after its earlier "
                     "parts were: their units stay sold\n",
                     parts->ids[next].c_str(), status.ToString().c_str());
        parts->Answer(Status(StatusCode::kInternal,
                             "the reservation's earlier parts were committed but part " +
                                 parts->ids[next] + " could not be (" + status.message() +
                                 "): the earlier parts' units stay sold"),
                      inv::Reservation());
      });
}

void ClusterInventoryClient::ReleaseRest(std::shared_ptr<Parts> parts, Status first,
                                         inv::Reservation first_part) {
  parts->first_error = std::move(first);
  parts->held.assign(parts->ids.size(), inv::Reservation());
  parts->held[0] = std::move(first_part);
  parts->pending = parts->ids.size() - 1;
  if (parts->pending == 0) return parts->Answer(parts->first_error, inv::Reservation());
  for (size_t i = 1; i < parts->ids.size(); ++i) {
    ReleasePart(parts->ids[i], parts->options,
                [parts, i](const Status& status, inv::Reservation reservation) {
                  if (!status.ok() && parts->first_error.ok()) parts->first_error = status;
                  parts->held[i] = std::move(reservation);
                  if (--parts->pending > 0) return;
                  if (!parts->first_error.ok()) {
                    return parts->Answer(parts->first_error, inv::Reservation());
                  }
                  parts->Answer(Status(), parts->Merged());
                });
  }
}

void ClusterInventoryClient::ReleaseReservation(inv::ReleaseReservationRequest request,
                                                const clients::CallOptions& options,
                                                clients::Done<inv::Reservation> done) {
  std::vector<std::string> ids = PartIds(request.reservation_id(), done);
  if (ids.empty()) return;
  if (ids.size() == 1) return ReleasePart(ids[0], options, std::move(done));
  auto parts = std::make_shared<Parts>();
  parts->ids = std::move(ids);
  parts->options = options;
  parts->done = std::move(done);
  // The first part decides: a commit goes in ascending order, so none is committed unless the
  // first is. Released: the rest are released too. Refused (committed, or expired): its commit,
  // idempotent, tells which; committed, the commit is finished rather than left half done (the
  // answer FAILED_PRECONDITION, as for a committed reservation of one partition).
  ReleasePart(parts->ids[0], options,
              [this, parts](const Status& status, inv::Reservation reservation) {
                if (status.code() == StatusCode::kFailedPrecondition) {
                  parts->rolling_forward = true;
                  return CommitNext(parts, 0);
                }
                if (!status.ok()) return parts->Answer(status, inv::Reservation());
                ReleaseRest(parts, Status(), std::move(reservation));
              });
}

bool ClusterInventoryClient::Spans(std::string_view path,
                                   const google::protobuf::Message& request) const {
  const std::string_view method = path.substr(std::min(path.size(), std::strlen(kInventory)));
  if (path.substr(0, std::strlen(kInventory)) != kInventory) return false;
  if (method == "ReserveStock") {
    const auto& reserve = static_cast<const inv::ReserveStockRequest&>(request);
    if (reserve.reservation_key().empty()) return false;
    for (const inv::StockLine& line : reserve.lines()) {
      if (placement_.OwnerOfCommerce(line.sku()) !=
          placement_.OwnerOfCommerce(reserve.lines(0).sku())) {
        return true;
      }
    }
    return false;
  }
  if (method == "CommitReservation") {
    return static_cast<const inv::CommitReservationRequest&>(request).reservation_id().find(
               kPartSeparator) != std::string::npos;
  }
  if (method == "ReleaseReservation") {
    return static_cast<const inv::ReleaseReservationRequest&>(request).reservation_id().find(
               kPartSeparator) != std::string::npos;
  }
  return false;
}

void ClusterInventoryClient::Coordinate(std::string_view path,
                                        const google::protobuf::Message& request,
                                        const clients::CallOptions& options,
                                        rpc::RoutedAnswer answer) {
  auto reply = [answer = std::move(answer)](const Status& status, inv::Reservation reservation) {
    if (!status.ok()) return answer(status, rpc::SerializedMessage());
    answer(status, rpc::SerializedMessage::Copy(reservation.SerializeAsString()));
  };
  const std::string_view method = path.substr(std::strlen(kInventory));
  if (method == "ReserveStock") {
    ReserveStock(static_cast<const inv::ReserveStockRequest&>(request), options, std::move(reply));
  } else if (method == "CommitReservation") {
    CommitReservation(static_cast<const inv::CommitReservationRequest&>(request), options,
                      std::move(reply));
  } else {
    ReleaseReservation(static_cast<const inv::ReleaseReservationRequest&>(request), options,
                       std::move(reply));
  }
}

}  // namespace percore::cluster
