#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/observe/log.h"
#include "core/runtime/shard.h"
#include "services/cluster/cluster_inventory_client.h"
#include "services/cluster/cluster_inventory_parts.h"

namespace percore::cluster {

namespace inv = ::inventory::v1;
using namespace inventory_parts;  // the parts' conventions (cluster_inventory_parts.h)

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
  if (test_commit_pause_.count() > 0 && next > 0 && parts->paused_before < next) {
    parts->paused_before = next;
    observe::Log(observe::LogLevel::kWarn,
                 "percore-server: test hook: pausing %lld ms before committing part %s\n",
                 static_cast<long long>(test_commit_pause_.count()), parts->ids[next].c_str());
    runtime::Shard::Current()->RunAfter(test_commit_pause_,
                                        [this, parts, next] { CommitNext(parts, next); });
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
                // Unknown there (never held, or lost): not committed either, so the rest go.
                if (status.code() == StatusCode::kNotFound) {
                  return ReleaseRest(parts, status, inv::Reservation());
                }
                if (!status.ok()) return parts->Answer(status, inv::Reservation());
                ReleaseRest(parts, Status(), std::move(reservation));
              });
}

}  // namespace percore::cluster
