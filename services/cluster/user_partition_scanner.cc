#include "services/cluster/user_partition_scanner.h"

#include <string>
#include <utility>
#include <vector>

#include "services/cluster/member_call.h"
#include "services/cluster/member_list_call.h"
#include "services/user/page_token.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {

namespace {

// Source i is the i-th partition other than this one, under the placement now: a switch only
// appends partitions, so a list started before it keeps its sources' meaning.
PartitionId SourcePartition(size_t source, PartitionId self) {
  return static_cast<PartitionId>(source < self ? source : source + 1);
}

}  // namespace

user::PartitionScanner MakeUserPartitionScanner(const ClusterPlacement& placement,
                                                std::shared_ptr<MemberLinks> links) {
  user::PartitionScanner scanner;
  scanner.sources = placement.partitions - 1;
  scanner.count = [] { return ProcessPlacement().partitions - 1; };
  scanner.scan = [links = std::move(links), self = placement.self](
                     size_t source, std::optional<user::UserId> after, size_t limit,
                     std::chrono::system_clock::time_point deadline,
                     std::function<void(Result<user::PartitionScanner::Rows>)> done) {
    const PartitionId partition = SourcePartition(source, self);
    ::user::v1::ListUsersRequest list;
    list.set_page_size(static_cast<int32_t>(limit));
    if (after) list.set_page_token(user::EncodePageToken(*after));
    ListFromMember(
        *links, self, partition, "/user.v1.UserService/ListUsers", list, limit, deadline, "users",
        [done = std::move(done),
         who = MemberName(*links, partition)](Result<std::vector<std::string>> messages) {
          if (!messages.ok()) return done(messages.status());
          user::PartitionScanner::Rows rows;
          rows.reserve(messages->size());
          ::user::v1::User user;
          for (std::string& bytes : *messages) {
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
