#include "bench/baseline/user_store.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <mutex>

namespace percore::baseline {

grpc::Status UserStore::Create(const user::v1::CreateUserRequest& request, user::v1::User* user) {
  if (request.name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name must not be empty");
  }
  if (request.email().find('@') == std::string::npos) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "email must contain '@'");
  }
  auto now = std::chrono::system_clock::now();
  user::v1::User created;
  created.set_name(request.name());
  created.set_email(request.email());
  created.mutable_roles()->CopyFrom(request.roles());
  *created.mutable_created_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  *created.mutable_updated_at() = created.created_at();

  std::unique_lock lock(mutex_);
  // The id is made under the same lock as the insert: a reader never sees a later id without
  // every earlier one, so paging by "ids above the last one sent" skips nobody.
  created.set_id(ids_.Next(now));
  auto [it, inserted] = users_.emplace(created.id(), std::move(created));
  *user = it->second;
  return grpc::Status::OK;
}

grpc::Status UserStore::Get(const std::string& id, user::v1::User* user) const {
  std::shared_lock lock(mutex_);
  auto it = users_.find(id);
  if (it == users_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no user with id \"" + id + "\"");
  }
  *user = it->second;
  return grpc::Status::OK;
}

grpc::Status UserStore::List(const user::v1::ListUsersRequest& request, UserPage* page) const {
  if (request.page_size() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size must not be negative");
  }
  size_t limit =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  std::shared_lock lock(mutex_);
  page->users.reserve(std::min(limit, users_.size()));
  auto it =
      request.page_token().empty() ? users_.begin() : users_.upper_bound(request.page_token());
  for (; it != users_.end() && page->users.size() < limit; ++it) {
    page->users.push_back(it->second);
  }
  if (it != users_.end()) page->next_page_token = page->users.back().id();
  return grpc::Status::OK;
}

}  // namespace percore::baseline
