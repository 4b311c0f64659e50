#include "services/user/user_validation.h"

#include <google/protobuf/repeated_field.h>

#include <algorithm>
#include <cctype>

#include "core/base/status.h"
#include "services/user/page_token.h"

namespace percore::user {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t CodePoints(std::string_view utf8) {
  // Protobuf has already checked that strings are valid UTF-8: count non-continuation bytes.
  return static_cast<size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

bool IsRoleChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
         c == '-';
}

}  // namespace

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

namespace {

// `text` trimmed into *trimmed, or INVALID_ARGUMENT naming `field` unless that is `min` to `max`
// code points long (names and e-mails are measured the same way).
Status TrimWithin(const char* field, std::string_view text, size_t min, size_t max,
                  std::string_view* trimmed) {
  *trimmed = TrimSpace(text);
  size_t length = CodePoints(*trimmed);
  if (length < min || length > max) {
    return Invalid(std::string(field) + " must be " + std::to_string(min) + " to " +
                   std::to_string(max) + " characters after trimming, got " +
                   std::to_string(length));
  }
  return Status();
}

}  // namespace

Status ValidateName(std::string_view name, std::string* normalized) {
  std::string_view trimmed;
  if (Status status = TrimWithin("name", name, 1, 200, &trimmed); !status.ok()) return status;
  normalized->assign(trimmed);
  return Status();
}

Status ValidateEmail(std::string_view email, std::string* normalized) {
  std::string_view trimmed;
  if (Status status = TrimWithin("email", email, 3, 254, &trimmed); !status.ok()) return status;
  if (std::any_of(trimmed.begin(), trimmed.end(), IsSpace)) {
    return Invalid("email must not contain white space");
  }
  size_t at = trimmed.find('@');
  if (at == std::string_view::npos || trimmed.find('@', at + 1) != std::string_view::npos) {
    return Invalid("email must contain exactly one '@'");
  }
  if (at == 0) return Invalid("email must have a non-empty local part before '@'");
  if (at + 1 == trimmed.size()) return Invalid("email must have a non-empty domain after '@'");
  normalized->assign(trimmed);
  return Status();
}

std::string EmailKey(std::string_view normalized_email) {
  std::string key(normalized_email);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

Status ValidateRoles(const google::protobuf::RepeatedPtrField<std::string>& roles,
                     std::vector<std::string>* normalized) {
  if (roles.size() > 32) {
    return Invalid("roles may have at most 32 entries, got " + std::to_string(roles.size()));
  }
  normalized->clear();
  for (int i = 0; i < roles.size(); ++i) {
    const std::string& role = roles[i];
    if (role.empty() || role.size() > 64) {
      return Invalid("roles[" + std::to_string(i) + "] must be 1 to 64 characters");
    }
    if (!std::all_of(role.begin(), role.end(), IsRoleChar)) {
      return Invalid("roles[" + std::to_string(i) + "] may only contain A-Z a-z 0-9 _ . : -");
    }
    if (std::find(normalized->begin(), normalized->end(), role) == normalized->end()) {
      normalized->push_back(role);  // duplicates collapse, first occurrence kept
    }
  }
  return Status();
}

Status ParseUserId(std::string_view text, const char* field, UserId* id) {
  return ParseUuidField(text, field, id);
}

Result<NewUser> ValidateCreate(const ::user::v1::CreateUserRequest& request) {
  NewUser user;
  for (const Status& status :
       {ValidateName(request.name(), &user.name), ValidateEmail(request.email(), &user.email),
        ValidateRoles(request.roles(), &user.roles)}) {
    if (!status.ok()) return status;
  }
  return user;
}

Result<UserPatch> ValidateUpdate(const ::user::v1::UpdateUserRequest& request) {
  bool want_name = request.has_name();
  bool want_email = request.has_email();
  bool want_roles = request.roles_size() > 0;
  if (request.has_update_mask()) {  // the mask alone decides (so roles can be cleared)
    want_name = want_email = want_roles = false;
    for (const std::string& path : request.update_mask().paths()) {
      if (path == "name") {
        want_name = true;
      } else if (path == "email") {
        want_email = true;
      } else if (path == "roles") {
        want_roles = true;
      } else {
        return Invalid("update_mask names unknown field \"" + path +
                       "\" (allowed: name, email, roles)");
      }
    }
  }
  UserPatch patch;
  Status status;
  if (want_name && status.ok()) status = ValidateName(request.name(), &patch.name.emplace());
  if (want_email && status.ok()) status = ValidateEmail(request.email(), &patch.email.emplace());
  if (want_roles && status.ok()) status = ValidateRoles(request.roles(), &patch.roles.emplace());
  if (!status.ok()) return status;
  return patch;
}

Result<UserPage> ValidateList(const ::user::v1::ListUsersRequest& request) {
  if (request.page_size() < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "page_size must not be negative, got " + std::to_string(request.page_size()));
  }
  UserPage page;
  page.size = static_cast<size_t>(
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize));
  if (!request.page_token().empty()) {
    page.after = DecodePageToken(request.page_token());
    if (!page.after) {
      return Status(StatusCode::kInvalidArgument,
                    "page_token was not issued by this server (or has expired)");
    }
  }
  return page;
}

}  // namespace percore::user
