#include "services/cluster/order_stream_relays.h"

#include <utility>

#include "services/cluster/stream_relay.h"

namespace percore::cluster {
namespace {

namespace ord = ::order::v1;

// Whether the owner of `key` is another partition (and the call a client's): then it is
// relayed from there.
template <class Req, class Resp>
auto RelayFromOwner(const ClusterPlacement& placement, std::shared_ptr<MemberLinks> links,
                    const char* path) {
  return [placement, links = std::move(links), path](const rpc::ServerStream<Req, Resp>& call,
                                                     std::string_view key) {
    if (call.metadata(kForwardedFromKey).has_value()) return false;
    const PartitionId owner = placement.OwnerOf(key);
    if (owner == placement.self) return false;
    StreamRelay<Req, Resp>::Start(call, path, *links, placement.self, {owner});
    return true;
  };
}

}  // namespace

void InstallOrderStreamRelays(const ClusterPlacement& placement, std::shared_ptr<MemberLinks> links,
                              order::OrderServiceOptions& options) {
  options.cluster_list = RelayFromOwner<ord::ListOrdersRequest, ord::Order>(
      placement, links, "/order.v1.OrderService/ListOrders");
  options.cluster_watch = RelayFromOwner<ord::WatchOrderUpdatesRequest, ord::OrderUpdate>(
      placement, links, "/order.v1.OrderService/WatchOrderUpdates");
}

}  // namespace percore::cluster
