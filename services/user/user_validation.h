#pragma once
// Threading contract: pure functions; any thread.
//
// The field rules of user-service.md. Each returns OK or INVALID_ARGUMENT with a message that
// names the field, and writes the normalized value (trimmed; roles de-duplicated).

#include <google/protobuf/repeated_ptr_field.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/status.h"
#include "services/user/user_id.h"
#include "user/v1/user.pb.h"

namespace percore::user {

std::string_view TrimSpace(std::string_view text);
Status ValidateName(std::string_view name, std::string* normalized);
Status ValidateEmail(std::string_view email, std::string* normalized);
// The uniqueness key of an email: its ASCII lower-case form.
std::string EmailKey(std::string_view normalized_email);
Status ValidateRoles(const google::protobuf::RepeatedPtrField<std::string>& roles,
                     std::vector<std::string>* normalized);
// `field` names the request field in the message ("id", "user_id").
Status ParseUserId(std::string_view text, const char* field, UserId* id);

// A CreateUserRequest's fields, validated and normalized.
struct NewUser {
  std::string name;
  std::string email;
  std::vector<std::string> roles;
};
Result<NewUser> ValidateCreate(const ::user::v1::CreateUserRequest& request);

// What an UpdateUser changes, validated and normalized (unset: unchanged).
struct UserPatch {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::vector<std::string>> roles;
};
// Without an update_mask the fields present change (roles when non-empty); with one, the mask
// alone decides, so roles can be cleared. An unknown mask path is INVALID_ARGUMENT.
Result<UserPatch> ValidateUpdate(const ::user::v1::UpdateUserRequest& request);

// A ListUsers page as asked: its size (0 means 100, capped at 1000) and the id to continue
// after (from page_token, which must be one this server issued).
struct UserPage {
  size_t size = 0;
  std::optional<UserId> after;
};
Result<UserPage> ValidateList(const ::user::v1::ListUsersRequest& request);

}  // namespace percore::user
