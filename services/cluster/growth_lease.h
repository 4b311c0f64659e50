#pragma once
// Threading contract: any thread; one process-wide state under a mutex of its own, touched only
// by ClusterAdmin calls and the freeze's lease timer (never the request path, which reads only
// growth_freeze.h's atomic flag).
//
// The growth a member is frozen for (services/cluster/GROWING.md, "Failures"): its history G and
// member list, whether a Switch to it came (from then on the growth only goes forward), the
// freeze's lease, and the growths this member abandoned (refused from then on, so a tool that
// lost track cannot switch a member that already unfroze under the old placement).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/status.h"

namespace percore::cluster {

struct GrowthState {
  std::string growing;               // G ("" none)
  std::vector<std::string> members;  // G's member list
  bool switched = false;
  std::chrono::milliseconds lease{0};  // 0: no lease (a joining member until the tool renews)
  std::chrono::steady_clock::time_point lease_end{};
  uint64_t generation = 0;  // bumped by every freeze, switch and end: a timer of an older one idles
  std::vector<std::string> abandoned;
};

GrowthState CurrentGrowth();

// Freezes for growth `grown` with `members` under `lease` (renews it when already frozen for
// it). `grown` "" : a lease naming no growth yet (the tool takes T once every member is frozen,
// then names the growth), or the renewal of the pending one. FAILED_PRECONDITION when `grown`
// was abandoned here or another growth is pending.
Result<uint64_t> FreezeForGrowth(std::string grown, std::vector<std::string> members,
                                 std::chrono::milliseconds lease);
// A joining member (--grow-joining): frozen for its --grown from its start, no lease yet.
void JoinGrowth(const std::string& grown, std::vector<std::string> members);
// Whether a Switch to `grown` may be applied now: the pending growth (or none named: the first
// form), not abandoned, and at least half of the lease left (every member's lease was renewed in
// one round just before the switches, so none can run out and settle meanwhile).
Status MaySwitch(const std::string& grown);
void MarkSwitched(const std::string& grown);
// Ends the freeze. `abort`: the pending growth (and `grown`, if named) is abandoned (refused if
// already switched: it can only go forward). Not `abort`: refused if a pending growth was not
// switched. `grown` named and another growth pending: refused. `generation` (not 0): only if no
// freeze, renewal or end came since that one (a lease's settling).
Status EndGrowth(bool abort, const std::string& grown = "", uint64_t generation = 0);

}  // namespace percore::cluster
