#pragma once
// Threading contract: built on the control thread before the shards start, immutable afterwards;
// a call is issued on a shard thread and answered there (clients/call_options.h), so a
// reservation's parts are held one after another by callbacks on that shard, without a lock.
//
// The inventory of a cluster, as the order saga (and the router, for a client's reservation
// spanning partitions) reaches it. Products live on their SKU's partition: GetProduct and
// AdjustStock go to it. A reservation whose lines all live on one partition is that partition's
// own (the request unchanged, a plain id). One whose lines span partitions is held partition by
// partition in ascending partition order, all or nothing, as a reservation spanning shards is
// held shard by shard inside a process:
//   - partition p's part is a reservation of p's lines under the key `KEY#p<p>` (so a retry, or
//     the saga's lookup by key after a restart, finds the same parts: ReserveStock is idempotent
//     by key on each partition);
//   - a part refused (short stock, unknown SKU, a partition down) releases the parts held before
//     it, and the whole answers with that part's status; a part whose outcome is unknown (timed
//     out, connection lost) is also looked up by its key and released, on its own short budget
//     (a partition that stays unreachable: its ttl ends the hold);
//   - the reservation's id lists the parts' ids in ascending partition order, joined by '.'
//     (`rsv_…​.rsv_…`): each part's id names its partition, so Commit and Release reach every
//     part without a directory. Commit goes part by part in ascending order, all or nothing:
//     nothing is sold until the first part is; once it is, every later part is committed too
//     (a part unreachable is retried, past the caller's deadline for up to a minute in the
//     background; commits are idempotent by id). Release asks the first part first: released,
//     the others are released; found committed, the commit is finished instead and the answer
//     is FAILED_PRECONDITION (committed), so a caller returning the units returns all of them.
//     Return (ReturnReservation, idempotent) goes to every part.
// The answer for a spanning reservation is the parts merged: the caller's key and the joined id,
// the lines in the order asked, the earliest expiry, and HELD only when every part is HELD.
// Calls for this partition go to `local`; others' to their member (member_call.h).

#include <google/protobuf/message.h>

#include <chrono>
#include <memory>
#include <string_view>

#include "core/cluster/cluster_placement.h"
#include "core/rpc/call_router.h"
#include "services/clients/inventory_client.h"
#include "services/cluster/member_links.h"

namespace percore::cluster {

class ClusterInventoryClient final : public clients::InventoryClient {
 public:
  ClusterInventoryClient(ClusterPlacement placement, std::shared_ptr<MemberLinks> links,
                         std::shared_ptr<clients::InventoryClient> local);

  void GetProduct(::inventory::v1::GetProductRequest request, const clients::CallOptions& options,
                  clients::Done<::inventory::v1::Product> done) override;
  void ReserveStock(::inventory::v1::ReserveStockRequest request,
                    const clients::CallOptions& options,
                    clients::Done<::inventory::v1::Reservation> done) override;
  void CommitReservation(::inventory::v1::CommitReservationRequest request,
                         const clients::CallOptions& options,
                         clients::Done<::inventory::v1::Reservation> done) override;
  void ReleaseReservation(::inventory::v1::ReleaseReservationRequest request,
                          const clients::CallOptions& options,
                          clients::Done<::inventory::v1::Reservation> done) override;
  void AdjustStock(::inventory::v1::AdjustStockRequest request, const clients::CallOptions& options,
                   clients::Done<::inventory::v1::Product> done) override;
  // Every part returned (each idempotent), as ReleaseReservation releases every part.
  void ReturnReservation(::inventory::v1::ReturnReservationRequest request,
                         const clients::CallOptions& options,
                         clients::Done<::inventory::v1::Reservation> done) override;

  // For the router: whether a client's call on `path` is a reservation spanning partitions
  // (served here by Coordinate, not forwarded whole to one owner).
  bool Spans(std::string_view path, const google::protobuf::Message& request) const;
  // Serves such a call on this shard; `answer` gets the merged reservation's bytes.
  void Coordinate(std::string_view path, const google::protobuf::Message& request,
                  const clients::CallOptions& options, rpc::RoutedAnswer answer);

 private:
  struct Parts;
  void ReservePart(PartitionId partition, ::inventory::v1::ReserveStockRequest request,
                   const clients::CallOptions& options,
                   clients::Done<::inventory::v1::Reservation> done);
  void CommitPart(const std::string& id, const clients::CallOptions& options,
                  clients::Done<::inventory::v1::Reservation> done);
  void ReleasePart(const std::string& id, const clients::CallOptions& options,
                   clients::Done<::inventory::v1::Reservation> done);
  void ReserveNext(std::shared_ptr<Parts> parts, size_t next);
  void CommitNext(std::shared_ptr<Parts> parts, size_t next);
  // Releases parts 1.. (the first was released, or its commit refused: none is committed) and
  // answers `first` or the first refusal.
  void ReleaseRest(std::shared_ptr<Parts> parts, Status first,
                   ::inventory::v1::Reservation first_part);
  // The part ids a reservation id joins; empty, after answering `done` INVALID_ARGUMENT, when it
  // names more parts than this cluster has partitions.
  std::vector<std::string> PartIds(const std::string& id,
                                   clients::Done<::inventory::v1::Reservation>& done) const;
  void ReleaseAll(std::shared_ptr<Parts> parts, size_t count, Status outcome);
  void ReleaseUnknownPart(const std::shared_ptr<Parts>& parts, size_t index);

  ClusterPlacement placement_;
  std::shared_ptr<MemberLinks> links_;
  std::shared_ptr<clients::InventoryClient> local_;
  std::chrono::milliseconds test_commit_pause_{0};  // PERCORE_TEST_COMMIT_PART_PAUSE_MS
};

}  // namespace percore::cluster
