#pragma once
// Threading contract: values; any thread (a UserIdGenerator belongs to one shard).
//
// A user's id: a UUIDv7 (core/base/uuid.h), so ids created one after another, on any shard,
// ascend; a user lives on shard runtime::ShardFor(id.view()).

#include "core/base/uuid.h"

namespace percore::user {

using UserId = Uuid;
using UserIdGenerator = UuidV7Generator;

}  // namespace percore::user
