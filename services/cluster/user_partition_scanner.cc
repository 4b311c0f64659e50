#include "services/cluster/user_partition_scanner.h"

#include <string>
#include <utility>
#include <vector>

#include "services/cluster/member_call.h"
#include "services/cluster/member_list_call.h"
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
