#include "services/cluster/forwarding_router.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <string>
#include <utility>

#include "core/rpc/method_table.h"
#include "services/cluster/forwarded_call.h"
#include "services/cluster/growth_freeze.h"

namespace percore::cluster {
namespace {

// What crosses the hop besides the request: who the caller is and the trace it belongs to.
constexpr const char* kPropagatedMetadata[] = {"authorization", "traceparent", "tracestate"};

std::string MemberName(PartitionId partition, const std::string& address) {
  return "partition " + std::to_string(partition) + " (" + address + ")";
}

}  // namespace

ForwardingRouter::ForwardingRouter(RouteTable routes, std::shared_ptr<MemberLinks> links)
    : routes_(std::move(routes)), links_(std::move(links)) {}

bool ForwardingRouter::Route(const rpc::InterceptedCall& call,
                             const std::function<rpc::RoutedAnswer()>& take) const {
  // The placement current at this call (a grown cluster's switch replaces it): one view for the
  // whole decision.
  const ClusterPlacement& placement = ProcessPlacement();
  if (call.request == nullptr || !placement.clustered()) return false;
  // While the cluster grows no id is drawn and no email claimed anywhere (growth_freeze.h).
  if (std::optional<Status> refused = RefusedWhileGrowing(call.method.path(), *call.request)) {
    take()(*refused, {});
    return true;
  }
  if (inventory_ && !call.call.metadata(kForwardedFromKey) &&
      inventory_->Spans(call.method.path(), *call.request)) {
    clients::CallOptions options;
    options.deadline = call.call.deadline();
    inventory_->Coordinate(call.method.path(), *call.request, options, take());
    return true;
  }
  std::optional<std::string> key = routes_.KeyOf(call.method.path(), *call.request);
  if (!key) return false;
  const PartitionId owner = placement.OwnerOfKind(*key, routes_.KindOf(call.method.path()));
  if (owner == placement.self) return false;

  rpc::RoutedAnswer answer = take();
  rpc::CallCore& core = call.call;
  if (std::optional<std::string_view> from = core.metadata(kForwardedFromKey)) {
    answer(
        Status(StatusCode::kUnavailable,
               "misrouted call: partition " + std::string(*from) + " forwarded it to partition " +
                   std::to_string(placement.self) + ", but its key belongs to partition " +
                   std::to_string(owner) + " (the members disagree on --members/--partitions)"),
        {});
    return true;
  }
  runtime::Shard& shard = core.shard();
  MemberLinks::ShardLinks& shard_links = links_->ForShard(shard);
  const std::string& address = links_->member(owner);
  // A closing shard may start no gRPC operation on its queue (gRPC asserts).
  if (shard_links.closed || !shard.cq_open()) {
    answer(Status(StatusCode::kUnavailable,
                  MemberName(owner, address) + " is not reachable: this server is shutting down"),
           {});
    return true;
  }

  ForwardRequest request;
  request.path = call.method.path();
  std::string bytes;
  call.request->SerializeToString(&bytes);
  grpc::Slice slice(std::move(bytes));
  request.request = grpc::ByteBuffer(&slice, 1);
  auto deadline = core.deadline();
  // No deadline (or one beyond any sensible wait) crosses as none.
  if (deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    request.deadline = deadline;
  }
  for (const char* name : kPropagatedMetadata) {
    if (std::optional<std::string_view> value = core.metadata(name)) {
      request.metadata.emplace_back(name, std::string(*value));
    }
  }
  request.metadata.emplace_back(kForwardedFromKey, std::to_string(placement.self));
  ForwardedCall::Start(
      links_->StubFor(shard_links, owner), shard_links.calls, shard.cq(), std::move(request),
      [answer = std::move(answer), who = MemberName(owner, address)](
          const Status& status, const rpc::SerializedMessage& response) {
        if (status.code() == StatusCode::kUnavailable) {
          answer(Status(StatusCode::kUnavailable, who + " is unavailable: " + status.message()),
                 response);
          return;
        }
        answer(status, response);
      });
  return true;
}

}  // namespace percore::cluster
