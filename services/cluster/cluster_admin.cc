#include "services/cluster/cluster_admin.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/v1/cluster_admin.pb.h"
#include "core/cluster/cluster_placement.h"
#include "core/cluster/growth_history.h"
#include "core/observe/log.h"
#include "core/rpc/raw_service.h"
#include "services/cluster/growth_freeze.h"
#include "services/user/user_claim_transfer.h"

namespace percore::cluster {

namespace v1 = ::cluster::v1;

class ClusterAdminHandler {
 public:
  ClusterAdminHandler(runtime::Runtime& runtime, std::shared_ptr<MemberLinks> links,
                      std::shared_ptr<user::UserService> users)
      : runtime_(runtime), links_(std::move(links)), users_(std::move(users)) {}

  void Freeze(rpc::UnaryCall<v1::FreezeRequest, v1::MemberState> call) {
    SetGrowthFrozen(true);
    observe::Log(observe::LogLevel::kInfo, "percore-server: frozen for growth\n");
    if (!users_) {
      call.Finish(State());
      return;
    }
    // Two rounds of a no-op through every shard's mailbox: after the first, every call that
    // passed the gate before the flag was set has run its task (a user id is drawn there); after
    // the second, the task that task posted (an order id is drawn on the user's shard, an email
    // claimed on its key's) has run too, before the answer says "frozen".
    auto shards = &users_->shards();
    shards->InvokeOnAll([](user::UserShard&) {},
                        [shards, call] {
                          shards->InvokeOnAll([](user::UserShard&) {},
                                              [call] { call.Finish(State()); });
                        });
  }

  void Unfreeze(rpc::UnaryCall<v1::UnfreezeRequest, v1::MemberState> call) {
    SetGrowthFrozen(false);
    observe::Log(observe::LogLevel::kInfo, "percore-server: unfrozen\n");
    call.Finish(State());
  }

  void PullPartition(rpc::ServerStream<v1::PullPartitionRequest, v1::EmailClaim> call) {
    const auto& request = call.request();
    if (request.partitions() < 1 || request.partition() >= request.partitions()) {
      call.Finish(
          Status(StatusCode::kInvalidArgument, "PullPartition wants partition < partitions"));
      return;
    }
    if (!users_) {
      call.Finish(Status());
      return;
    }
    user::CollectClaimsFor(*users_, request.partitions(), request.partition(),
                           [call](std::vector<std::vector<user::MovedClaim>> chunks) {
                             auto pump = std::make_shared<Pump>(Pump{call, {}, 0});
                             for (auto& chunk : chunks) {
                               for (auto& claim : chunk) pump->claims.push_back(std::move(claim));
                             }
                             Pump::Run(pump);
                           });
  }

  void AdoptClaims(rpc::UnaryCall<v1::AdoptClaimsRequest, v1::MemberState> call) {
    if (!users_) {
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
    user::AdoptClaims(*users_, std::move(claims), [call](Result<user::Adopted> adopted) {
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
      v1::MemberState state = State();
      state.set_claims(adopted->taken);
      call.Finish(state);
    });
  }

  void Switch(rpc::UnaryCall<v1::SwitchRequest, v1::MemberState> call) {
    std::string error;
    std::optional<GrowthHistory> history = ParseGrowthHistory(call.request().grown(), &error);
    if (!history) {
      call.Finish(Status(StatusCode::kInvalidArgument, error));
      return;
    }
    const ClusterPlacement& now = ProcessPlacement();
    const size_t partitions = history->epochs.back().partitions;
    std::vector<std::string> members(call.request().members().begin(),
                                     call.request().members().end());
    if (members.size() != partitions || partitions < now.partitions ||
        history->first_partitions != now.initial_partitions()) {
      call.Finish(Status(StatusCode::kInvalidArgument,
                         "Switch wants one member per partition of the history's last count (" +
                             std::to_string(partitions) + "), no fewer partitions than now (" +
                             std::to_string(now.partitions) + ") and the same first count (" +
                             std::to_string(now.initial_partitions()) + ")"));
      return;
    }
    ClusterPlacement next = now;
    next.partitions = partitions;
    next.members = members;
    next.first_partitions = history->first_partitions;
    next.grown = std::move(history->epochs);
    // The members first, so a call routed by the new placement finds its partition's address.
    links_->GrowMembers(runtime_, members);
    SwitchPlacement(std::move(next));
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: switched to %zu partitions (--grown %s)\n", partitions,
                 call.request().grown().c_str());
    call.Finish(State());
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

  static v1::MemberState State() {
    const ClusterPlacement& placement = ProcessPlacement();
    v1::MemberState state;
    state.set_partition(placement.self);
    state.set_partitions(static_cast<uint32_t>(placement.partitions));
    state.set_frozen(GrowthFrozen());
    if (!placement.grown.empty()) {
      state.set_grown(
          FormatGrowthHistory(GrowthHistory{placement.initial_partitions(), placement.grown}));
    }
    return state;
  }

  runtime::Runtime& runtime_;
  std::shared_ptr<MemberLinks> links_;
  std::shared_ptr<user::UserService> users_;
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
  return def;
}

}  // namespace percore::cluster
