#pragma once
// Threading contract: pure functions; any thread.
//
// The field rules of user-service.md. Each returns OK or INVALID_ARGUMENT with a message that
// names the field, and writes the normalized value (trimmed; roles de-duplicated).

#include <google/protobuf/repeated_ptr_field.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "services/user/user_id.h"

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

}  // namespace percore::user
