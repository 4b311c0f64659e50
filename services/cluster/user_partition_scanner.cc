#include "services/cluster/user_partition_scanner.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <string>
#include <utility>
#include <vector>

#include "core/cluster/forwarded_mark.h"
#include "services/cluster/forwarded_stream_call.h"
#include "services/user/page_token.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {

user::PartitionScanner MakeUserPartitionScanner(const ClusterPlacement& placement,
                                                std::shared_ptr<MemberLinks> links) {
  std::vector<PartitionId> others;
  for (PartitionId p = 0; p < placement.partitions; ++p) {
    if (p != placement.self) others.push_back(p);
  }
  user::PartitionScanner scanner;
  scanner.sources = others.size();
  scanner.scan = [links = std::move(links), others, self = placement.self](
                     size_t source, std::optional<user::UserId> after, size_t limit,
                     std::chrono::system_clock::time_point deadline,
                     std::function<void(Result<user::PartitionScanner::Rows>)> done) {
    const PartitionId partition = others.at(source);
    const std::string who =
        "partition " + std::to_string(partition) + " (" + links->member(partition) + ")";
    runtime::Shard* shard = runtime::Shard::Current();
    MemberLinks::ShardLinks& shard_links = links->ForShard(*shard);
    if (shard_links.closed || !shard->cq_open()) {
      done(Status(StatusCode::kUnavailable,
                  who + " is not reachable: this server is shutting down"));
      return;
    }
    ::user::v1::ListUsersRequest list;
    list.set_page_size(static_cast<int32_t>(limit));
    if (after) list.set_page_token(user::EncodePageToken(*after));
    ForwardRequest request;
    request.path = "/user.v1.UserService/ListUsers";
    grpc::Slice slice(list.SerializeAsString());
    request.request = grpc::ByteBuffer(&slice, 1);
    request.deadline = deadline;
    request.metadata.emplace_back(kForwardedFromKey, std::to_string(self));
    ForwardedStreamCall::Start(
        links->StubFor(shard_links, partition), shard_links.calls, shard->cq(), std::move(request),
        limit,
        [done = std::move(done), who](const Status& status, std::vector<std::string> messages) {
          if (!status.ok()) {
            done(Status(status.code(), who + " could not list its users: " + status.message()));
            return;
          }
          user::PartitionScanner::Rows rows;
          rows.reserve(messages.size());
          ::user::v1::User user;
          for (std::string& bytes : messages) {
            std::optional<user::UserId> id;
            if (user.ParseFromString(bytes)) id = user::UserId::Parse(user.id());
            if (!id) {
              done(Status(StatusCode::kInternal, who + " sent a user that does not parse"));
              return;
            }
            rows.emplace_back(*id, rpc::SerializedMessage::Copy(bytes));
          }
          done(std::move(rows));
        });
  };
  return scanner;
}

}  // namespace percore::cluster
