#include "services/cluster/member_list_call.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <utility>

#include "core/cluster/forwarded_mark.h"
#include "services/cluster/forwarded_stream_call.h"
#include "services/cluster/member_call.h"

namespace percore::cluster {

void ListFromMember(MemberLinks& links, PartitionId self, PartitionId partition, std::string path,
                    const google::protobuf::Message& request, size_t limit,
                    std::chrono::system_clock::time_point deadline, const char* what,
                    std::function<void(Result<std::vector<std::string>>)> done) {
  std::string who = MemberName(links, partition);
  runtime::Shard* shard = runtime::Shard::Current();
  MemberLinks::ShardLinks& shard_links = links.ForShard(*shard);
  if (shard_links.closed || !shard->cq_open()) {
    done(Status(StatusCode::kUnavailable, who + " is not reachable: this server is shutting down"));
    return;
  }
  ForwardRequest forward;
  forward.path = std::move(path);
  grpc::Slice slice(request.SerializeAsString());
  forward.request = grpc::ByteBuffer(&slice, 1);
  forward.deadline = deadline;
  forward.metadata.emplace_back(kForwardedFromKey, std::to_string(self));
  if (!links.authorization().empty()) {
    forward.metadata.emplace_back("authorization", links.authorization());
  }
  ForwardedStreamCall::Start(
      links.StubFor(shard_links, partition), shard_links.calls, shard->cq(), std::move(forward),
      limit,
      [done = std::move(done), who, what](const Status& status, std::vector<std::string> messages) {
        if (!status.ok()) {
          done(
              Status(status.code(), who + " could not list its " + what + ": " + status.message()));
          return;
        }
        done(std::move(messages));
      });
}

}  // namespace percore::cluster
