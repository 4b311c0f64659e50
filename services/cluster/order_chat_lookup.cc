#include "services/cluster/order_chat_lookup.h"

#include <chrono>
#include <utility>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/member_call.h"

namespace percore::cluster {
namespace {

namespace ord = ::order::v1;

// A chat's lookup is a read for a person waiting on the answer: a short budget of its own.
constexpr std::chrono::seconds kLookupBudget{2};

}  // namespace

void InstallOrderChatLookup(std::shared_ptr<MemberLinks> links,
                            order::OrderServiceOptions& options) {
  options.cluster_order_lookup = [links = std::move(links)](
                                     const Uuid& order_id,
                                     std::function<void(std::optional<ord::Order>)>& done) -> bool {
    const ClusterPlacement& placement = ProcessPlacement();
    const PartitionId owner = placement.OwnerOfId(order_id.view());
    if (owner == placement.self) return false;
    ord::GetOrderRequest request;
    request.set_id(order_id.ToString());
    clients::CallOptions call;
    call.deadline = std::chrono::system_clock::now() + kLookupBudget;
    // Any failure (NOT_FOUND, or the owner down) reads as "no such order" to the chat, which
    // has no other answer for a status it cannot give.
    CallMember<ord::Order>(*links, placement.self, owner, "/order.v1.OrderService/GetOrder",
                           request, call,
                           [done = std::move(done)](const Status& status, ord::Order order) {
                             if (status.ok()) {
                               done(std::move(order));
                             } else {
                               done(std::nullopt);
                             }
                           });
    return true;
  };
}

}  // namespace percore::cluster
