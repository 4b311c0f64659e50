#include "services/cluster/user_email_calls.h"

#include <string>
#include <utility>

#include "services/cluster/member_call.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {
namespace {

constexpr char kCreateUser[] = "/user.v1.UserService/CreateUser";
constexpr char kGetUser[] = "/user.v1.UserService/GetUser";

clients::CallOptions WithDeadline(std::chrono::system_clock::time_point deadline) {
  clients::CallOptions options;
  options.deadline = deadline;
  return options;
}

// A marked CreateUser{email: key} carrying `mark`: the claimer's id (a claim or a release).
void SendClaimCall(MemberLinks& links, PartitionId self, PartitionId partition, const char* mark,
                   std::string key, const user::UserId& claimer,
                   std::chrono::system_clock::time_point deadline,
                   std::function<void(Status)> done) {
  ::user::v1::CreateUserRequest request;
  request.set_email(std::move(key));
  CallMemberWith<::user::v1::User>(
      links, self, partition, kCreateUser, request, WithDeadline(deadline),
      {{mark, claimer.ToString()}},
      [done = std::move(done)](const Status& status, const ::user::v1::User&) { done(status); });
}

}  // namespace

user::RemoteEmailClaims MakeRemoteEmailClaims(const ClusterPlacement& placement,
                                              std::shared_ptr<MemberLinks> links) {
  user::RemoteEmailClaims remote;
  const PartitionId self = placement.self;
  remote.claim = [links, self](PartitionId partition, std::string key, user::UserId claimer,
                               user::RemoteEmailClaims::Deadline deadline,
                               std::function<void(Status)> done) {
    SendClaimCall(*links, self, partition, user::kEmailClaimMark, std::move(key), claimer, deadline,
                  std::move(done));
  };
  remote.release = [links, self](PartitionId partition, std::string key, user::UserId claimer,
                                 user::RemoteEmailClaims::Deadline deadline,
                                 std::function<void(Status)> done) {
    SendClaimCall(*links, self, partition, user::kEmailReleaseMark, std::move(key), claimer,
                  deadline, std::move(done));
  };
  remote.holds = [links, self](PartitionId partition, user::UserId holder, std::string key,
                               user::RemoteEmailClaims::Deadline deadline,
                               std::function<void(Result<bool>)> done) {
    ::user::v1::GetUserRequest request;
    request.set_id(holder.ToString());
    CallMemberWith<::user::v1::User>(
        *links, self, partition, kGetUser, request, WithDeadline(deadline),
        {{user::kEmailHoldsMark, std::move(key)}},
        [done = std::move(done)](const Status& status, const ::user::v1::User&) {
          // The user's partition answers for it: OK (it holds the email, or is taking it),
          // FAILED_PRECONDITION (it does not) or NOT_FOUND (no such user): the last two stale.
          if (status.ok()) {
            done(true);
          } else if (status.code() == StatusCode::kFailedPrecondition ||
                     status.code() == StatusCode::kNotFound) {
            done(false);
          } else {
            done(status);
          }
        });
  };
  return remote;
}

}  // namespace percore::cluster
