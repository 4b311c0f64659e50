// ListUsers' next-page-token: encoded once per page that has a successor, decoded (and its
// keyed checksum verified) at the start of every page after the first.

#include <benchmark/benchmark.h>

#include <string>

#include "services/user/page_token.h"
#include "services/user/user_id.h"

namespace percore::user {
namespace {

UserId AnId() {
  UserIdGenerator ids(1);
  return ids.Next(1'700'000'000'123'456'789, [](const UserId&) { return true; });
}

void BM_PageToken_Encode(benchmark::State& state) {
  const UserId id = AnId();
  for (auto _ : state) {
    std::string token = EncodePageToken(id);
    benchmark::DoNotOptimize(token.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PageToken_Encode);

void BM_PageToken_Decode(benchmark::State& state) {
  const std::string token = EncodePageToken(AnId());
  for (auto _ : state) benchmark::DoNotOptimize(DecodePageToken(token));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PageToken_Decode);

}  // namespace
}  // namespace percore::user
