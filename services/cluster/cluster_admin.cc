#include "services/cluster/cluster_admin.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/v1/cluster_admin.pb.h"
#include "core/cluster/cluster_placement.h"
#include "core/cluster/growth_history.h"
#include "core/observe/log.h"
#include "core/rpc/raw_service.h"
#include "services/cluster/growth_freeze.h"
#include "services/cluster/growth_lease.h"
#include "services/cluster/growth_settle.h"
#include "services/user/user_claim_transfer.h"

namespace percore::cluster {

namespace v1 = ::cluster::v1;

class ClusterAdminHandler {
 public:
  ClusterAdminHandler(runtime::Runtime& runtime, std::shared_ptr<MemberLinks> links,
                      std::shared_ptr<user::UserService> users)
      : context_(std::make_shared<GrowthContext>(
            GrowthContext{runtime, std::move(links), std::move(users)})) {}

  void Freeze(rpc::UnaryCall<v1::FreezeRequest, v1::MemberState> call) {
    const v1::FreezeRequest& request = call.request();
    if (!request.grown().empty() && request.lease_ms() == 0) {
      call.Finish(Status(StatusCode::kInvalidArgument, "a freeze for a growth wants a lease"));
      return;
    }
    if (!request.grown().empty()) {
      // Checked now, not when the lease runs out (a growth that does not parse has no old
      // partitions to ask).
      std::string error;
      std::optional<GrowthHistory> history = ParseGrowthHistory(request.grown(), &error);
      if (!history || history->first_partitions != ProcessPlacement().initial_partitions() ||
          static_cast<size_t>(request.members_size()) != history->epochs.back().partitions) {
        call.Finish(Status(StatusCode::kInvalidArgument,
                           "Freeze wants a growth of this cluster (its first count " +
                               std::to_string(ProcessPlacement().initial_partitions()) +
                               ") and one member per partition of its last count" +
                               (error.empty() ? "" : ": " + error)));
        return;
      }
    }
    if (request.lease_ms() > 0) {
      const std::chrono::milliseconds lease(request.lease_ms());
      Result<uint64_t> generation = FreezeForGrowth(
          request.grown(), {request.members().begin(), request.members().end()}, lease);
      if (!generation.ok()) {
        call.Finish(generation.status());
        return;
      }
      ArmGrowthLease(context_, *generation, lease);
    }
    SetGrowthFrozen(true);
    observe::Log(observe::LogLevel::kInfo, "percore-server: frozen for growth%s%s\n",
                 request.grown().empty() ? "" : " to --grown ", request.grown().c_str());
    if (!context_->users) {
      call.Finish(StateNow());
      return;
    }
    // Two rounds of a no-op through every shard's mailbox: after the first, every call that
    // passed the gate before the flag was set has run its task (a user id is drawn there); after
    // the second, the task that task posted (an order id is drawn on the user's shard, an email
    // claimed on its key's) has run too, before the answer says "frozen".
    auto shards = &context_->users->shards();
    shards->InvokeOnAll([](user::UserShard&) {},
                        [shards, call] {
                          shards->InvokeOnAll([](user::UserShard&) {},
                                              [call] { call.Finish(StateNow()); });
                        });
  }

  void Unfreeze(rpc::UnaryCall<v1::UnfreezeRequest, v1::MemberState> call) {
    const GrowthState growth = CurrentGrowth();
    if (!call.request().grown().empty() && growth.growing.empty() && !GrowthFrozen() &&
        !call.request().abort()) {
      // Already over here (a re-run of the tool): say how it ended.
      call.Finish(StateNow());
      return;
    }
    if (Status ended = EndGrowth(call.request().abort(), call.request().grown()); !ended.ok()) {
      call.Finish(ended);
      return;
    }
    observe::Log(observe::LogLevel::kInfo, "percore-server: unfrozen%s\n",
                 call.request().abort() ? " (growth abandoned)" : "");
    if (!call.request().abort()) {
      call.Finish(StateNow());
      return;
    }
    // The claims adopted for the abandoned growth (keys another old partition owns) go.
    DropForeignClaims(*context_, [call](Result<size_t> dropped) {
      if (!dropped.ok()) {
        call.Finish(dropped.status());
        return;
      }
      v1::MemberState state = StateNow();
      state.set_claims(*dropped);
      call.Finish(state);
    });
  }

  void State(rpc::UnaryCall<v1::StateRequest, v1::MemberState> call) {
    if (!context_->users) {
      call.Finish(StateNow());
      return;
    }
    user::CountClaims(*context_->users, [call](size_t held) {
      v1::MemberState state = StateNow();
      state.set_claims_held(held);
      call.Finish(state);
    });
  }

  void PullPartition(rpc::ServerStream<v1::PullPartitionRequest, v1::EmailClaim> call) {
    const auto& request = call.request();
    if (request.partitions() < 1 || request.partition() >= request.partitions()) {
      call.Finish(
          Status(StatusCode::kInvalidArgument, "PullPartition wants partition < partitions"));
      return;
    }
    if (!context_->users) {
      call.Finish(Status());
      return;
    }
    user::CollectClaimsFor(*context_->users, request.partitions(), request.partition(),
                           [call](std::vector<std::vector<user::MovedClaim>> chunks) {
                             auto pump = std::make_shared<Pump>(Pump{call, {}, 0});
                             for (auto& chunk : chunks) {
                               for (auto& claim : chunk) pump->claims.push_back(std::move(claim));
                             }
                             Pump::Run(pump);
                           });
  }

  void AdoptClaims(rpc::UnaryCall<v1::AdoptClaimsRequest, v1::MemberState> call) {
    if (!context_->users) {
      call.Finish(Status(StatusCode::kFailedPrecondition, "this member hosts no user service"));
      return;
    }
    std::vector<user::MovedClaim> claims;
    for (const v1::EmailClaim& claim : call.request().claims()) {
      std::optional<user::UserId> id = user::UserId::Parse(claim.user_id());
      if (!id || claim.email_key().empty()) {
        call.Finish(Status(StatusCode::kInvalidArgument,
                           "a claim wants an email_key and a user_id (a UUID)"));
        return;
      }
      claims.push_back(user::MovedClaim{claim.email_key(), *id});
    }
    user::AdoptClaims(*context_->users, std::move(claims), [call](Result<user::Adopted> adopted) {
      if (!adopted.ok()) {
        call.Finish(adopted.status());
        return;
      }
      if (adopted->conflicts > 0) {
        observe::Log(observe::LogLevel::kWarn,
                     "percore-server: %zu pulled email claims were already held here by another "
                     "user (kept as they were)\n",
                     adopted->conflicts);
      }
      v1::MemberState state = StateNow();
      state.set_claims(adopted->taken);
      call.Finish(state);
    });
  }

  void Switch(rpc::UnaryCall<v1::SwitchRequest, v1::MemberState> call) {
    const std::string grown = call.request().grown();
    if (Status may = MaySwitch(grown); !may.ok()) {
      call.Finish(may);
      return;
    }
    ApplyGrowth(*context_, grown,
                {call.request().members().begin(), call.request().members().end()},
                [call, grown](Result<size_t> dropped) {
                  if (!dropped.ok()) {
                    call.Finish(dropped.status());
                    return;
                  }
                  MarkSwitched(grown);
                  if (*dropped > 0) {
                    observe::Log(observe::LogLevel::kInfo,
                                 "percore-server: dropped %zu email claims other partitions own "
                                 "now\n",
                                 *dropped);
                  }
                  v1::MemberState state = StateNow();
                  state.set_claims(*dropped);
                  call.Finish(state);
                });
  }

 private:
  // Writes the claims as the stream takes them (its queue is bounded), then finishes.
  struct Pump {
    rpc::ServerStream<v1::PullPartitionRequest, v1::EmailClaim> call;
    std::vector<user::MovedClaim> claims;
    size_t next = 0;

    static void Run(const std::shared_ptr<Pump>& pump) {
      v1::EmailClaim message;
      while (pump->next < pump->claims.size()) {
        const user::MovedClaim& claim = pump->claims[pump->next];
        message.set_email_key(claim.key);
        message.set_user_id(claim.claimer.ToString());
        if (!pump->call.Write(message)) {
          pump->call.OnWritable([pump] { Run(pump); });
          return;
        }
        ++pump->next;
      }
      pump->call.Finish(Status());
    }
  };

  static v1::MemberState StateNow() {
    const ClusterPlacement& placement = ProcessPlacement();
    v1::MemberState state;
    state.set_partition(placement.self);
    state.set_partitions(static_cast<uint32_t>(placement.partitions));
    state.set_frozen(GrowthFrozen());
    for (const std::string& member : placement.members) state.add_members(member);
    const GrowthState growth = CurrentGrowth();
    state.set_growing(growth.growing);
    for (const std::string& member : growth.members) state.add_growing_members(member);
    state.set_switched(growth.switched);
    const auto left = growth.lease_end - std::chrono::steady_clock::now();
    if (growth.lease.count() > 0 && left.count() > 0) {
      state.set_lease_ms_left(std::chrono::duration_cast<std::chrono::milliseconds>(left).count());
    }
    for (const std::string& grown : growth.abandoned) state.add_abandoned(grown);
    if (!placement.grown.empty()) {
      state.set_grown(
          FormatGrowthHistory(GrowthHistory{placement.initial_partitions(), placement.grown}));
    }
    return state;
  }

  std::shared_ptr<GrowthContext> context_;
};

std::shared_ptr<rpc::ServiceDef<ClusterAdminHandler>> MakeClusterAdminService(
    runtime::Runtime& runtime, std::shared_ptr<MemberLinks> links,
    std::shared_ptr<user::UserService> users) {
  auto def = std::make_shared<rpc::ServiceDef<ClusterAdminHandler>>(
      rpc::FindServiceDescriptor("cluster.v1.ClusterAdmin"),
      [&runtime, links, users](runtime::Shard&) {
        return std::make_unique<ClusterAdminHandler>(runtime, links, users);
      });
  def->Unary("Freeze", &ClusterAdminHandler::Freeze);
  def->Unary("Unfreeze", &ClusterAdminHandler::Unfreeze);
  def->ServerStream("PullPartition", &ClusterAdminHandler::PullPartition);
  def->Unary("AdoptClaims", &ClusterAdminHandler::AdoptClaims);
  def->Unary("Switch", &ClusterAdminHandler::Switch);
  def->Unary("State", &ClusterAdminHandler::State);
  return def;
}

}  // namespace percore::cluster
