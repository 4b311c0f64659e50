#pragma once
// Threading contract: ListFromMember() on a shard thread; `done` runs on that same thread (the
// call is on the shard's completion queue, forwarded_stream_call.h).
//
// One page of another partition's list for a k-way merge over the cluster (ListUsers,
// ListProducts): the request sent marked as forwarded (so that member lists its own partition
// only), with this process's own authorization, through the calling shard's link to the member.
// `done` gets the page's messages (at most `limit`) or the member's status, naming the partition.

#include <google/protobuf/message.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/cluster/partition_for.h"
#include "services/cluster/member_links.h"

namespace percore::cluster {

// `what` names the rows in errors ("users", "products").
void ListFromMember(MemberLinks& links, PartitionId self, PartitionId partition, std::string path,
                    const google::protobuf::Message& request, size_t limit,
                    std::chrono::system_clock::time_point deadline, const char* what,
                    std::function<void(Result<std::vector<std::string>>)> done);

}  // namespace percore::cluster
