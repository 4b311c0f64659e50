#include "services/cluster/user_watch_relay.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/uuid.h"
#include "core/cluster/forwarded_mark.h"
#include "services/cluster/stream_relay.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {
namespace {

using WatchStream = rpc::ServerStream<::user::v1::WatchUserRequest, ::user::v1::UserUpdate>;
using WatchRelay = StreamRelay<::user::v1::WatchUserRequest, ::user::v1::UserUpdate>;

}  // namespace

user::ClusterWatch MakeUserWatchRelay(const ClusterPlacement&, std::shared_ptr<MemberLinks> links) {
  return [links = std::move(links)](const WatchStream& call) {
    if (call.metadata(kForwardedFromKey).has_value()) return false;  // a member's: serve here
    // Read per call: after a grown cluster's switch a new watch spans every partition.
    const ClusterPlacement& placement = ProcessPlacement();
    std::vector<PartitionId> partitions;
    const std::string& user_id = call.request().user_id();
    if (!user_id.empty()) {
      std::optional<Uuid> id = Uuid::Parse(user_id);
      if (!id) return false;  // the handler names the field
      PartitionId owner = placement.OwnerOfId(id->view());
      if (owner == placement.self) return false;
      partitions.push_back(owner);
    } else {
      for (PartitionId p = 0; p < placement.partitions; ++p) partitions.push_back(p);
    }
    // Each partition's errors named (which one ended the watch); no caller metadata, as before.
    WatchRelay::Start(call, "/user.v1.UserService/WatchUserUpdates", *links, placement.self,
                      partitions, {.caller_metadata = false, .name_every_error = true});
    return true;
  };
}

}  // namespace percore::cluster
