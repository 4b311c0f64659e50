#pragma once
// Threading contract: every method from any thread. Reads share a std::shared_mutex, creates
// take it exclusively: the store a gRPC C++ service is usually written over.
//
// Users by id in a std::map, so ListUsers pages are ranges of ascending ids. Results are
// grpc::Status values (the codes the methods answer with); users come out as copies.

#include <grpcpp/support/status.h>

#include <map>
#include <shared_mutex>
#include <string>
#include <vector>

#include "bench/baseline/uuid_v7.h"
#include "user/v1/user.pb.h"

namespace percore::baseline {

// One ListUsers answer: the users to stream, and the token for the next page ("" on the last).
struct UserPage {
  std::vector<user::v1::User> users;
  std::string next_page_token;
};

class UserStore {
 public:
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMaxPageSize = 1000;

  // Enough checking for seeding: INVALID_ARGUMENT for an empty name or an email without '@'.
  // Sets a new time-ordered id and created_at == updated_at == now; `*user` is the stored user.
  grpc::Status Create(const user::v1::CreateUserRequest& request, user::v1::User* user);

  // NOT_FOUND when no user has `id`.
  grpc::Status Get(const std::string& id, user::v1::User* user) const;

  // Users with ids above `request.page_token()` (all when empty), ascending, at most
  // page_size of them (0: kDefaultPageSize; capped at kMaxPageSize; negative:
  // INVALID_ARGUMENT). When more follow, the next page token is the last id sent.
  grpc::Status List(const user::v1::ListUsersRequest& request, UserPage* page) const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, user::v1::User> users_;  // guarded by mutex_
  UuidV7Generator ids_;                          // guarded by mutex_ (exclusive)
};

}  // namespace percore::baseline
