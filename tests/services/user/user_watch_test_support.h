#pragma once
// Threading contract: as user_test_support.h: driven from the test's main thread; the matchers
// are pure functions.
//
// What the WatchUserUpdates suites share: the event types, a matcher for one event, and the
// request that changes a user's roles.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/services/user/user_test_support.h"

namespace percore::user_test {

using Type = v1::UserUpdate::UpdateType;
constexpr Type kCreated = v1::UserUpdate::UPDATE_TYPE_CREATED;
constexpr Type kUpdated = v1::UserUpdate::UPDATE_TYPE_UPDATED;
constexpr Type kDeleted = v1::UserUpdate::UPDATE_TYPE_DELETED;

// `got` is a `type` event whose user is exactly `user`.
inline ::testing::AssertionResult IsEvent(const std::optional<v1::UserUpdate>& got, Type type,
                                          const v1::User& user) {
  if (!got) return ::testing::AssertionFailure() << "the stream ended; expected an event";
  if (got->type() != type) {
    return ::testing::AssertionFailure()
           << "type " << v1::UserUpdate::UpdateType_Name(got->type()) << ", expected "
           << v1::UserUpdate::UpdateType_Name(type) << " in {" << got->ShortDebugString() << "}";
  }
  if (got->user_id() != user.id()) {
    return ::testing::AssertionFailure()
           << "user_id " << got->user_id() << ", expected " << user.id();
  }
  return SameUser(got->user(), user);
}

inline v1::UpdateUserRequest RolesUpdate(const std::string& id,
                                         const std::vector<std::string>& roles) {
  v1::UpdateUserRequest request;
  request.set_id(id);
  for (const auto& r : roles) request.add_roles(r);
  return request;
}

class UserWatchTest : public UserServiceTest {};

}  // namespace percore::user_test
