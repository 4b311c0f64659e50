#pragma once
// Threading contract: values; any thread (an OrderIdGenerator belongs to one shard's service).
//
// Ids as order.v1 sees them: UUIDs (core/base/uuid.h). User ids (user.v1's UUIDv7s) are parsed
// into the same type, so the shard that owns a user's orders is runtime::ShardFor(the user id's
// 16 bytes): the very shard that owns the user in UserService, which makes the in-process
// GetUser a same-shard call. Order ids are UUIDv7s drawn until they land on that shard too, so
// every order of a user, its idempotency keys and its watchers live on one shard; and since they
// ascend per shard, id order is creation order.

#include "core/base/uuid.h"

namespace percore::order {

using OrderIdGenerator = UuidV7Generator;

}  // namespace percore::order
