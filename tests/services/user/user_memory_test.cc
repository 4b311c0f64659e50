// Memory per stored user (issue 16: at most 200 bytes), counted, not sampled: this binary
// replaces operator new and delete to track the live bytes the process asked for, so the figure
// is the same on every run and under any allocator (jemalloc in release, ASan's allocator in the
// sanitized build). A UserPartition is filled with users of the seed's shape (a 111-byte
// serialized User, one role) and their email claims, as the server stores them; every block is
// also rounded up to jemalloc's size class (what the release build really spends), and that
// figure is the one held to the bound. bench/storage/user_memory measures the same with RSS.

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "services/user/user_id.h"
#include "services/user/user_partition.h"
#include "services/user/user_validation.h"

namespace {

// Live bytes asked for, and the same rounded to jemalloc's size classes. Plain globals: the
// test is single-threaded (gtest's threads allocate only before and after the counted part).
size_t requested_bytes = 0;
size_t class_bytes = 0;

// jemalloc's size classes with a 16-byte quantum: 8, 16, then multiples of 16 up to 128, then
// four classes per doubling (160, 192, 224, 256, 320, ...).
size_t JemallocClass(size_t size) {
  if (size <= 8) return 8;
  if (size <= 128) return (size + 15) / 16 * 16;
  size_t group = 128;
  while (size > group * 2) group *= 2;
  size_t step = group / 4;
  return (size + step - 1) / step * step;
}

// Each block carries its size in a 16-byte header (keeps 16-byte alignment for new's callers).
constexpr size_t kHeader = 16;

void* Allocate(size_t size) {
  auto* block = static_cast<char*>(std::malloc(size + kHeader));
  if (block == nullptr) throw std::bad_alloc();
  *reinterpret_cast<size_t*>(block) = size;
  requested_bytes += size;
  class_bytes += JemallocClass(size);
  return block + kHeader;
}

void Free(void* pointer) {
  if (pointer == nullptr) return;
  char* block = static_cast<char*>(pointer) - kHeader;
  size_t size = *reinterpret_cast<size_t*>(block);
  requested_bytes -= size;
  class_bytes -= JemallocClass(size);
  std::free(block);
}

}  // namespace

void* operator new(size_t size) { return Allocate(size); }
void* operator new[](size_t size) { return Allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* pointer) noexcept { Free(pointer); }
void operator delete[](void* pointer) noexcept { Free(pointer); }
void operator delete(void* pointer, size_t) noexcept { Free(pointer); }
void operator delete[](void* pointer, size_t) noexcept { Free(pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { Free(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { Free(pointer); }

namespace percore::user {
namespace {

constexpr long kUsers = 100000;
constexpr int64_t kNow = 1'767'225'600'123'456'789;  // 2026-01-01, fixed: the same bytes each run

TEST(UserMemoryTest, AStoredUserWithItsEmailClaimTakesAtMost200Bytes) {
  auto partition = std::make_unique<UserPartition>();
  UserIdGenerator ids(42);
  v1::User user;
  user.add_roles("member");
  *user.mutable_created_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(kNow);
  *user.mutable_updated_at() = user.created_at();
  size_t requested_before = requested_bytes, class_before = class_bytes;
  for (long i = 0; i < kUsers; ++i) {
    UserId id = ids.Next(kNow + i * 1000, [](const UserId&) { return true; });
    user.set_id(id.ToString());
    user.set_name("User " + std::to_string(i));
    user.set_email("user" + std::to_string(i) + "@example.com");
    ASSERT_TRUE(partition->emails().Claim(EmailKey(user.email()), id).ok());
    partition->Store(id, user, v1::UserUpdate::UPDATE_TYPE_CREATED);
  }
  double requested = static_cast<double>(requested_bytes - requested_before) / kUsers;
  double in_classes = static_cast<double>(class_bytes - class_before) / kUsers;
  std::printf(
      "users: %ld  serialized user: %zu bytes  bytes/user: %.1f requested, %.1f in "
      "jemalloc size classes\n",
      kUsers, user.ByteSizeLong(), requested, in_classes);
  EXPECT_EQ(partition->size(), static_cast<size_t>(kUsers));
  EXPECT_LE(in_classes, 200.0);
  partition.reset();  // everything given back: the count is of the partition alone
  EXPECT_LE(requested_bytes, requested_before);
}

}  // namespace
}  // namespace percore::user
