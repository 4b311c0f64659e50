// Bytes of memory per stored user: fills one UserPartition (row + email claim, the same structures
// the server uses) with N users of the seed's shape and divides the RSS growth by N.
//   build/release/bench/storage/user_memory [N]     (default 1000000)

#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "services/user/user_id.h"
#include "services/user/user_partition.h"
#include "services/user/user_validation.h"

namespace {

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace percore::user;
  long count = argc > 1 ? std::atol(argv[1]) : 1000000;
  if (count <= 0) {
    std::fprintf(stderr, "usage: user_memory [N > 0]\n");
    return 2;
  }
  UserPartition partition;
  UserIdGenerator ids(42);
  v1::User user;
  user.add_roles("member");
  size_t before = ResidentBytes();
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  for (long i = 0; i < count; ++i) {
    UserId id = ids.Next(now + i * 1000, [](const UserId&) { return true; });
    user.set_id(id.ToString());
    user.set_name("User " + std::to_string(i));
    user.set_email("user" + std::to_string(i) + "@example.com");
    *user.mutable_created_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(now);
    *user.mutable_updated_at() = user.created_at();
    if (!partition.emails().Claim(EmailKey(user.email()), id).ok()) return 1;
    partition.Store(id, user, v1::UserUpdate::UPDATE_TYPE_CREATED);
  }
  size_t after = ResidentBytes();
  double per_user = static_cast<double>(after - before) / static_cast<double>(count);
  std::printf("users: %ld  serialized user: %zu bytes  rss growth: %.1f MiB  bytes/user: %.1f\n",
              count, user.ByteSizeLong(), (after - before) / 1048576.0, per_user);
  return 0;
}
