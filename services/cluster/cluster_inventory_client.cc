#include "services/cluster/cluster_inventory_client.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/observe/log.h"
#include "core/rpc/serialized_message.h"
#include "services/cluster/cluster_inventory_parts.h"
#include "services/cluster/member_call.h"

namespace percore::cluster {

namespace inv = ::inventory::v1;
using namespace inventory_parts;  // the parts' conventions (cluster_inventory_parts.h)

ClusterInventoryClient::ClusterInventoryClient(ClusterPlacement placement,
                                               std::shared_ptr<MemberLinks> links,
                                               std::shared_ptr<clients::InventoryClient> local)
    : placement_(std::move(placement)), links_(std::move(links)), local_(std::move(local)) {
  // Test only: a pause before each later part's commit, logged, so that a system test can kill
  // a process between the parts (cluster_spanning_commit_python_test.py).
  if (const char* pause = std::getenv("PERCORE_TEST_COMMIT_PART_PAUSE_MS")) {
    test_commit_pause_ = std::chrono::milliseconds(std::atoi(pause));
  }
}

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

void ClusterInventoryClient::ReturnReservation(inv::ReturnReservationRequest request,
                                               const clients::CallOptions& options,
                                               clients::Done<inv::Reservation> done) {
  std::vector<std::string> ids = PartIds(request.reservation_id(), done);
  if (ids.empty()) return;
  auto return_part = [this, options](const std::string& id, clients::Done<inv::Reservation> done) {
    inv::ReturnReservationRequest part;
    part.set_reservation_id(id);
    LocalOrMember(*links_, placement_.self, placement_.OwnerOfCommerce(id),
                  Path("ReturnReservation"), *local_, &clients::InventoryClient::ReturnReservation,
                  std::move(part), options, std::move(done));
  };
  if (ids.size() == 1) return return_part(ids[0], std::move(done));
  // Every part is returned (each is idempotent, so a retry finishes what one left); the first
  // refusal is the answer.
  auto parts = std::make_shared<Parts>();
  parts->ids = std::move(ids);
  parts->held.resize(parts->ids.size());
  parts->done = std::move(done);
  parts->pending = parts->ids.size();
  for (size_t i = 0; i < parts->ids.size(); ++i) {
    return_part(parts->ids[i], [parts, i](const Status& status, inv::Reservation reservation) {
      if (!status.ok() && parts->first_error.ok()) parts->first_error = status;
      parts->held[i] = std::move(reservation);
      if (--parts->pending > 0) return;
      clients::Done<inv::Reservation> done = std::move(parts->done);
      if (!parts->first_error.ok()) {
        done(parts->first_error, inv::Reservation());
        return;
      }
      done(Status(), parts->Merged());
    });
  }
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
  if (method == "ReturnReservation") {
    return static_cast<const inv::ReturnReservationRequest&>(request).reservation_id().find(
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
  } else if (method == "ReturnReservation") {
    ReturnReservation(static_cast<const inv::ReturnReservationRequest&>(request), options,
                      std::move(reply));
  } else {
    ReleaseReservation(static_cast<const inv::ReleaseReservationRequest&>(request), options,
                       std::move(reply));
  }
}

}  // namespace percore::cluster
