// user.v1.User on the wire: protobuf's own SerializeToString/ParseFromString and the
// grpc::ByteBuffer path every percore call goes through (rpc::Codec). A user of the seed's
// shape (111 bytes) is what CreateUser, UpdateUser and the watch events serialize, and what
// the server parses from every CreateUser/UpdateUser request of that size.

#include <benchmark/benchmark.h>
#include <google/protobuf/util/time_util.h>

#include <string>

#include "core/rpc/codec.h"
#include "services/user/user_id.h"
#include "user/v1/user.pb.h"

namespace percore::user {
namespace {

using ::user::v1::User;

// The seed's user: UUIDv7 id, name, email, one role, two timestamps.
User SeedUser() {
  const int64_t now = 1'700'000'000'123'456'789;
  UserIdGenerator ids(1);
  User user;
  user.set_id(ids.Next(now, [](const UserId&) { return true; }).ToString());
  user.set_name("User 123456");
  user.set_email("user123456@example.com");
  user.add_roles("member");
  *user.mutable_created_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(now);
  *user.mutable_updated_at() = user.created_at();
  return user;
}

void BM_User_SerializeToString(benchmark::State& state) {
  const User user = SeedUser();
  std::string out;
  for (auto _ : state) {
    user.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}
BENCHMARK(BM_User_SerializeToString);

// Parsing into a reused message (the arena-less way a call object holds its request).
void BM_User_ParseFromString(benchmark::State& state) {
  const std::string bytes = SeedUser().SerializeAsString();
  User user;
  for (auto _ : state) benchmark::DoNotOptimize(user.ParseFromString(bytes));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_User_ParseFromString);

// Codec<User>::Serialize: what UnaryCall::Finish(response) and ServerStream::Write(message) do.
void BM_User_CodecSerialize(benchmark::State& state) {
  const User user = SeedUser();
  for (auto _ : state) {
    grpc::ByteBuffer bytes = rpc::Codec<User>::Serialize(user);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_User_CodecSerialize);

// Codec<User>::Parse from a ByteBuffer (what every call does with its request). Parse consumes
// the buffer, so each iteration parses a copy (a slice reference, no byte copy), included.
void BM_User_CodecParse(benchmark::State& state) {
  const grpc::ByteBuffer wire = rpc::Codec<User>::Serialize(SeedUser());
  User user;
  for (auto _ : state) {
    grpc::ByteBuffer bytes(wire);
    benchmark::DoNotOptimize(rpc::Codec<User>::Parse(&bytes, &user));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_User_CodecParse);

}  // namespace
}  // namespace percore::user

// The one main() of user_bench (the other *_bench.cc files register into it).
BENCHMARK_MAIN();
