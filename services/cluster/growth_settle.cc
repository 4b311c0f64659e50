#include "services/cluster/growth_settle.h"

#include <signal.h>
#include <unistd.h>

#include <utility>

#include "cluster/v1/cluster_admin.pb.h"
#include "core/cluster/cluster_placement.h"
#include "core/cluster/growth_history.h"
#include "core/observe/log.h"
#include "services/cluster/growth_lease.h"
#include "services/cluster/member_call.h"
#include "services/user/user_claim_transfer.h"

namespace percore::cluster {
namespace {

namespace v1 = ::cluster::v1;

constexpr std::chrono::seconds kAskAgain{1};
constexpr std::chrono::seconds kAskTimeout{2};

// The partition count before the history's last epoch.
size_t PreviousCount(const GrowthHistory& history) {
  if (history.epochs.size() < 2) return history.first_partitions;
  return history.epochs[history.epochs.size() - 2].partitions;
}

void Settle(std::shared_ptr<GrowthContext> context, uint64_t generation);

void Finish(const std::shared_ptr<GrowthContext>& context, const GrowthState& growth,
            bool forward) {
  if (forward) {
    ApplyGrowth(*context, growth.growing, growth.members,
                [growing = growth.growing](Result<size_t> dropped) {
                  if (!dropped.ok()) {
                    observe::Log(observe::LogLevel::kWarn,
                                 "percore-server: freeze lease ran out; switching to --grown %s "
                                 "failed: %s (still frozen)\n",
                                 growing.c_str(), dropped.status().ToString().c_str());
                    return;
                  }
                  MarkSwitched(growing);
                  [[maybe_unused]] Status ended = EndGrowth(false);
                  observe::Log(observe::LogLevel::kInfo,
                               "percore-server: freeze lease ran out; another member was switched: "
                               "switched to --grown %s and unfrozen\n",
                               growing.c_str());
                });
    return;
  }
  std::string error;
  std::optional<GrowthHistory> history = ParseGrowthHistory(growth.growing, &error);
  if (history && ProcessPlacement().self < PreviousCount(*history)) {
    // Renewed meanwhile (the tool is back and goes on with it): not abandoned after all.
    if (CurrentGrowth().generation != growth.generation) return;
    DropForeignClaims(*context, [growing = growth.growing,
                                 generation = growth.generation](Result<size_t> dropped) {
      if (Status ended = EndGrowth(true, "", generation); !ended.ok()) {
        observe::Log(observe::LogLevel::kWarn,
                     "percore-server: growth --grown %s not abandoned: %s\n", growing.c_str(),
                     ended.ToString().c_str());
        return;
      }
      observe::Log(observe::LogLevel::kWarn,
                   "percore-server: freeze lease ran out; no member was switched: growth --grown "
                   "%s abandoned, unfrozen under the placement in force (%zu claims adopted for "
                   "it dropped)\n",
                   growing.c_str(), dropped.ok() ? *dropped : size_t{0});
    });
    return;
  }
  if (CurrentGrowth().generation != growth.generation) return;  // renewed meanwhile
  observe::Log(observe::LogLevel::kWarn,
               "percore-server: freeze lease ran out; no member was switched: growth --grown %s "
               "abandoned; this joining member stops\n",
               growth.growing.c_str());
  ::kill(::getpid(), SIGTERM);
}

}  // namespace

void ApplyGrowth(const GrowthContext& context, const std::string& grown,
                 std::vector<std::string> members, std::function<void(Result<size_t>)> done) {
  std::string error;
  std::optional<GrowthHistory> history = ParseGrowthHistory(grown, &error);
  if (!history) return done(Status(StatusCode::kInvalidArgument, error));
  const ClusterPlacement& now = ProcessPlacement();
  const size_t partitions = history->epochs.back().partitions;
  if (members.size() != partitions || partitions < now.partitions ||
      history->first_partitions != now.initial_partitions()) {
    return done(Status(StatusCode::kInvalidArgument,
                       "Switch wants one member per partition of the history's last count (" +
                           std::to_string(partitions) + "), no fewer partitions than now (" +
                           std::to_string(now.partitions) + ") and the same first count (" +
                           std::to_string(now.initial_partitions()) + ")"));
  }
  ClusterPlacement next = now;
  next.partitions = partitions;
  next.members = members;
  next.first_partitions = history->first_partitions;
  next.grown = std::move(history->epochs);
  // The members first, so a call routed by the new placement finds its partition's address.
  context.links->GrowMembers(context.runtime, members);
  SwitchPlacement(std::move(next));
  observe::Log(observe::LogLevel::kInfo,
               "percore-server: switched to %zu partitions (--grown %s)\n", partitions,
               grown.c_str());
  // Every member's claims were adopted by their new owners before any Switch, and a switched
  // growth never goes back: the moved ones can go (journaled, so a restart does not bring them
  // back).
  DropForeignClaims(context, std::move(done));
}

void DropForeignClaims(const GrowthContext& context, std::function<void(Result<size_t>)> done) {
  if (!context.users) return done(size_t{0});
  user::DropMovedClaims(*context.users, std::move(done));
}

void ArmGrowthLease(std::shared_ptr<GrowthContext> context, uint64_t generation,
                    std::chrono::milliseconds delay) {
  runtime::Shard::Current()->RunAfter(
      delay, [context = std::move(context), generation] { Settle(context, generation); });
}

namespace {

void Settle(std::shared_ptr<GrowthContext> context, uint64_t generation) {
  GrowthState growth = CurrentGrowth();
  // Renewed (a newer timer settles it), switched by the tool since, or over.
  if (growth.generation != generation) return;
  if (growth.growing.empty()) {  // frozen under a lease before any growth was named
    if (!EndGrowth(true, "", generation).ok()) return;
    observe::Log(observe::LogLevel::kWarn,
                 "percore-server: freeze lease ran out before any growth was named: unfrozen\n");
    return;
  }
  if (growth.switched) {
    [[maybe_unused]] Status ended = EndGrowth(false);
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: freeze lease ran out after the switch: unfrozen with --grown "
                 "%s\n",
                 growth.growing.c_str());
    return;
  }
  std::string error;
  std::optional<GrowthHistory> history = ParseGrowthHistory(growth.growing, &error);
  const size_t old_count = history ? PreviousCount(*history) : 0;
  const PartitionId self = ProcessPlacement().self;
  struct Ask {
    size_t pending = 0;
    bool any_switched = false;
    bool all_answered = true;
  };
  auto ask = std::make_shared<Ask>();
  auto decide = [context, growth, generation, ask] {
    if (ask->any_switched) return Finish(context, growth, true);
    if (ask->all_answered) return Finish(context, growth, false);
    observe::Log(observe::LogLevel::kWarn,
                 "percore-server: freeze lease ran out; a member of the growth --grown %s cannot "
                 "be asked whether it was switched: still frozen, asking again\n",
                 growth.growing.c_str());
    ArmGrowthLease(context, generation, kAskAgain);
  };
  for (PartitionId p = 0; p < old_count; ++p) {
    if (p != self) ++ask->pending;
  }
  if (ask->pending == 0) return decide();
  clients::CallOptions options;
  options.deadline = std::chrono::system_clock::now() + kAskTimeout;
  for (PartitionId p = 0; p < old_count; ++p) {
    if (p == self) continue;
    CallMember<v1::MemberState>(
        *context->links, self, p, "/cluster.v1.ClusterAdmin/State", v1::StateRequest(), options,
        [ask, decide, growing = growth.growing](const Status& status, v1::MemberState state) {
          if (!status.ok()) {
            ask->all_answered = false;
          } else if ((state.growing() == growing && state.switched()) ||
                     (state.growing().empty() && state.grown() == growing)) {
            ask->any_switched = true;
          }
          if (--ask->pending == 0) decide();
        });
  }
}

}  // namespace
}  // namespace percore::cluster
