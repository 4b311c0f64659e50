#include "services/cluster/growth_lease.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "services/cluster/growth_freeze.h"

namespace percore::cluster {
namespace {

std::mutex mutex;
GrowthState state;  // guarded by mutex

bool Abandoned(const std::string& grown) {
  return std::find(state.abandoned.begin(), state.abandoned.end(), grown) != state.abandoned.end();
}

}  // namespace

GrowthState CurrentGrowth() {
  std::lock_guard lock(mutex);
  return state;
}

Result<uint64_t> FreezeForGrowth(std::string grown, std::vector<std::string> members,
                                 std::chrono::milliseconds lease) {
  std::lock_guard lock(mutex);
  if (!grown.empty() && Abandoned(grown)) {
    return Status(StatusCode::kFailedPrecondition,
                  "the growth --grown " + grown + " was abandoned on this member");
  }
  if (grown.empty() && !state.growing.empty()) {  // a renewal naming no growth: keep it
    grown = state.growing;
    members = state.members;
  }
  if (!state.growing.empty() && state.growing != grown) {
    return Status(StatusCode::kFailedPrecondition,
                  "this member is frozen for another growth (--grown " + state.growing + ")");
  }
  state.growing = grown;
  state.members = std::move(members);
  state.lease = lease;
  state.lease_end = std::chrono::steady_clock::now() + lease;
  ++state.generation;
  SetGrowthFrozen(true);
  return state.generation;
}

void JoinGrowth(const std::string& grown, std::vector<std::string> members) {
  std::lock_guard lock(mutex);
  state.growing = grown;
  state.members = std::move(members);
  ++state.generation;
  SetGrowthFrozen(true);
}

Status MaySwitch(const std::string& grown) {
  std::lock_guard lock(mutex);
  if (Abandoned(grown)) {
    return Status(StatusCode::kFailedPrecondition,
                  "the growth --grown " + grown + " was abandoned on this member");
  }
  if (state.growing.empty()) {
    if (state.lease.count() == 0) return Status();  // a freeze with no lease (the first form)
    return Status(StatusCode::kFailedPrecondition,
                  "frozen under a lease naming no growth: Freeze with the growth first");
  }
  if (state.growing != grown) {
    return Status(StatusCode::kFailedPrecondition,
                  "this member is frozen for another growth (--grown " + state.growing + ")");
  }
  if (!state.switched && state.lease.count() > 0 &&
      state.lease_end - std::chrono::steady_clock::now() < state.lease / 2) {
    return Status(StatusCode::kFailedPrecondition,
                  "less than half of the freeze's lease is left: renew it (Freeze) first");
  }
  return Status();
}

void MarkSwitched(const std::string& grown) {
  std::lock_guard lock(mutex);
  if (state.growing != grown) return;
  state.switched = true;
}

Status EndGrowth(bool abort, const std::string& grown, uint64_t generation) {
  std::lock_guard lock(mutex);
  if (generation != 0 && generation != state.generation) {
    return Status(StatusCode::kAborted, "the freeze was renewed or ended meanwhile");
  }
  if (!grown.empty() && !state.growing.empty() && grown != state.growing) {
    return Status(StatusCode::kFailedPrecondition,
                  "frozen for another growth (--grown " + state.growing + ")");
  }
  if (abort && !grown.empty() && !Abandoned(grown)) state.abandoned.push_back(grown);
  if (!state.growing.empty()) {
    if (abort && state.switched) {
      return Status(StatusCode::kFailedPrecondition,
                    "switched to --grown " + state.growing + " already: it can only go forward");
    }
    if (!abort && !state.switched) {
      return Status(StatusCode::kFailedPrecondition,
                    "frozen for --grown " + state.growing +
                        " and not switched: Switch it, or Unfreeze with abort");
    }
    if (abort && !Abandoned(state.growing)) state.abandoned.push_back(state.growing);
  }
  GrowthState ended;
  ended.abandoned = std::move(state.abandoned);
  ended.generation = state.generation + 1;
  state = std::move(ended);
  SetGrowthFrozen(false);
  return Status();
}

}  // namespace percore::cluster
