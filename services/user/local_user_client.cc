#include "services/user/local_user_client.h"

#include "core/base/status.h"
#include "core/runtime/runtime.h"
#include "core/storage/partition_of.h"
#include "services/user/user_validation.h"

namespace percore::user {

void LocalUserClient::GetUser(v1::GetUserRequest request, const clients::CallOptions& /*options*/,
                              clients::Done<v1::User> done) {
  UserId id;
  if (Status status = ParseUserId(request.id(), "id", &id); !status.ok()) {
    done(status, v1::User());
    return;
  }
  runtime::Runtime& runtime = runtime::Shard::Current()->runtime();
  auto owner = static_cast<runtime::ShardId>(storage::PartitionOf(id.view(), runtime.size()));
  runtime.Hop(
      owner,
      [def = def_.get(), id] {
        return def->local(*runtime::Shard::Current()).partition().Load(id);
      },
      [done = std::move(done), id](std::optional<v1::User> user) {
        if (!user) {
          done(Status(StatusCode::kNotFound, "user " + id.ToString() + " not found"), v1::User());
        } else {
          done(Status(), std::move(*user));
        }
      });
}

}  // namespace percore::user
