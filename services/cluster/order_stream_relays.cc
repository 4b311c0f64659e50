#include "services/cluster/order_stream_relays.h"

#include <utility>

#include "services/cluster/stream_relay.h"

namespace percore::cluster {
namespace {

namespace ord = ::order::v1;

// Whether the owner of `key` (a user or order id: placed by its epoch) is another partition (and
// the call a client's): then it is relayed from there. The placement is read per call (a grown
// cluster's switch replaces it).
template <class Req, class Resp>
auto RelayFromOwner(std::shared_ptr<MemberLinks> links, const char* path) {
  return [links = std::move(links), path](const rpc::ServerStream<Req, Resp>& call,
                                          std::string_view key) {
    if (call.metadata(kForwardedFromKey).has_value()) return false;
    const ClusterPlacement& placement = ProcessPlacement();
    const PartitionId owner = placement.OwnerOfId(key);
    if (owner == placement.self) return false;
    StreamRelay<Req, Resp>::Start(call, path, *links, placement.self, {owner});
    return true;
  };
}

}  // namespace

void InstallOrderStreamRelays(const ClusterPlacement&, std::shared_ptr<MemberLinks> links,
                              order::OrderServiceOptions& options) {
  options.cluster_list = RelayFromOwner<ord::ListOrdersRequest, ord::Order>(
      links, "/order.v1.OrderService/ListOrders");
  options.cluster_watch = RelayFromOwner<ord::WatchOrderUpdatesRequest, ord::OrderUpdate>(
      links, "/order.v1.OrderService/WatchOrderUpdates");
}

}  // namespace percore::cluster
