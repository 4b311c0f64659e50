// UniqueIndexPartition<UserId>, the email index, holding 1M claims: the claim and release a
// CreateUser/DeleteUser runs on the email's shard, and the two refusals (email taken by someone
// else; already ours) that every duplicate create and same-email update pays.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/storage/unique_index_partition.h"
#include "services/user/user_id.h"

namespace percore::storage {
namespace {

using user::UserId;
using Index = UniqueIndexPartition<UserId>;

constexpr size_t kMillion = 1 << 20;

// "user<i>@example.com"; with a tag, "user<i>.<tag>@example.com", which sorts next to it, so a
// fresh email lands at a random place in the index as real ones do.
std::string Email(size_t i, const char* tag = nullptr) {
  std::string local = "user" + std::to_string(i);
  if (tag != nullptr) local += std::string(".") + tag;
  return local + "@example.com";
}

UserId Owner(size_t i) {
  UserId id;
  for (size_t b = 0; b < 8; ++b) id.bytes[b] = static_cast<uint8_t>(i >> (8 * b));
  return id;
}

// 1M claims "user<i>@example.com" -> Owner(i), built once.
Index& Million() {
  static Index* index = [] {
    auto* built = new Index();
    for (size_t i = 0; i < kMillion; ++i) {
      if (!built->Claim(Email(i), Owner(i)).ok()) std::abort();
    }
    return built;
  }();
  return *index;
}

// A free email claimed, then released by the same owner: one create plus one delete.
void BM_UniqueIndexPartition_ClaimRelease(benchmark::State& state) {
  Index& index = Million();
  std::vector<std::string> fresh;
  for (size_t i = 0; i < 65536; ++i) fresh.push_back(Email((i * 7919) % kMillion, "new"));
  const UserId owner = Owner(kMillion + 1);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.Claim(fresh[i], owner).ok());
    benchmark::DoNotOptimize(index.Release(fresh[i], owner));
    if (++i == fresh.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UniqueIndexPartition_ClaimRelease);

// 64K emails held in Million(), scattered over it, with their owners' numbers.
struct Probes {
  std::vector<std::string> emails;
  std::vector<size_t> owners;
};
Probes TakenEmails() {
  Probes probes;
  for (size_t i = 0; i < 65536; ++i) {
    size_t k = (i * 7919) % kMillion;
    probes.emails.push_back(Email(k));
    probes.owners.push_back(k);
  }
  return probes;
}

// A claim of an email another user holds (duplicate CreateUser): kAlreadyExists.
void BM_UniqueIndexPartition_ClaimTaken(benchmark::State& state) {
  Index& index = Million();
  const Probes probes = TakenEmails();
  const UserId intruder = Owner(kMillion + 2);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.Claim(probes.emails[i], intruder).ok());
    if (++i == probes.emails.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UniqueIndexPartition_ClaimTaken);

// A claim of an email its owner already holds (UpdateUser keeping its email): kAlreadyOwned.
void BM_UniqueIndexPartition_ClaimAlreadyOwned(benchmark::State& state) {
  Index& index = Million();
  const Probes probes = TakenEmails();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.Claim(probes.emails[i], Owner(probes.owners[i])).ok());
    if (++i == probes.emails.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UniqueIndexPartition_ClaimAlreadyOwned);

}  // namespace
}  // namespace percore::storage
