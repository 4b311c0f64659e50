#include "services/user/user_claim_transfer.h"

#include <memory>
#include <optional>

#include "core/cluster/cluster_placement.h"
#include "core/cluster/partition_for.h"

namespace percore::user {

void CollectClaimsFor(UserService& users, size_t partitions, uint32_t partition,
                      std::function<void(std::vector<std::vector<MovedClaim>>)> done) {
  using Chunk = std::vector<MovedClaim>;
  users.shards().MapReduce(
      [partitions, partition](UserShard& shard) {
        Chunk chunk;
        shard.partition.emails().ForEach([&](std::string_view key, const UserId& claimer) {
          if (cluster::PartitionFor(key, partitions) == partition) {
            chunk.push_back(MovedClaim{std::string(key), claimer});
          }
        });
        return chunk;
      },
      std::vector<Chunk>(),
      [](std::vector<Chunk>& all, Chunk chunk) { all.push_back(std::move(chunk)); },
      std::move(done));
}

namespace {

// On every shard, the change `make(shard)` returns: run on that shard, it changes claims, adds
// what it did to its Count and returns the last record it logged. Each shard answers once that
// record is durable (at once when its log refuses writes); `done`, on the caller's shard, gets
// the shards' counts added up, or the first error.
template <class Count, class MakeChange>
void ChangeClaimsOnEveryShard(UserService& users, MakeChange make,
                              std::function<void(Result<Count>)> done) {
  struct Answer {
    Status status;
    Count count;
  };
  struct Gather {
    Answer total;
    size_t pending = 0;
    std::function<void(Result<Count>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  gather->pending = users.shards().size();
  for (runtime::ShardId shard = 0; shard < users.shards().size(); ++shard) {
    users.shards().InvokeOnAsync<Answer>(
        shard,
        [change = make(shard)](UserShard& owner, auto reply) mutable {
          Answer answer;
          if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
            answer.status = writable;
            reply(std::move(answer));
            return;
          }
          std::optional<UserJournal::Lsn> last = change(owner, answer.count);
          owner.journal.AfterDurable(last, [reply, answer](const Status& durable) mutable {
            answer.status = durable;
            reply(std::move(answer));
          });
        },
        [gather](Answer answer) {
          gather->total.count += answer.count;
          if (!answer.status.ok() && gather->total.status.ok()) {
            gather->total.status = answer.status;
          }
          if (--gather->pending > 0) return;
          if (!gather->total.status.ok()) return gather->done(gather->total.status);
          gather->done(gather->total.count);
        });
  }
}

}  // namespace

void AdoptClaims(UserService& users, std::vector<MovedClaim> claims,
                 std::function<void(Result<Adopted>)> done) {
  auto by_shard = std::make_shared<std::vector<std::vector<MovedClaim>>>(users.shards().size());
  for (MovedClaim& claim : claims) {
    (*by_shard)[users.shards().ShardFor(claim.key)].push_back(std::move(claim));
  }
  ChangeClaimsOnEveryShard<Adopted>(
      users,
      [by_shard](runtime::ShardId shard) {
        return [chunk = std::move((*by_shard)[shard])](UserShard& owner, Adopted& adopted) {
          std::optional<UserJournal::Lsn> last;
          for (const MovedClaim& claim : chunk) {
            Result<storage::ClaimOutcome> claimed =
                owner.partition.emails().Claim(claim.key, claim.claimer);
            if (!claimed.ok()) {
              ++adopted.conflicts;
              continue;
            }
            ++adopted.taken;
            // This partition's own user: its row says (rebuilt at recovery), no record.
            if (cluster::OwnsId(claim.claimer.view())) continue;
            owner.partition.NoteRemoteClaim(claim.key, claim.claimer);
            if (*claimed == storage::ClaimOutcome::kNewlyClaimed) {
              if (auto lsn = owner.journal.LogEmailClaim(kEmailClaim, claim.claimer, claim.key)) {
                last = lsn;
              }
            }
          }
          return last;
        };
      },
      std::move(done));
}

void DropMovedClaims(UserService& users, std::function<void(Result<size_t>)> done) {
  ChangeClaimsOnEveryShard<size_t>(
      users,
      [](runtime::ShardId) {
        return [](UserShard& owner, size_t& dropped) {
          std::vector<MovedClaim> moved;
          owner.partition.emails().ForEach([&](std::string_view key, const UserId& claimer) {
            if (!cluster::OwnsKey(key)) moved.push_back(MovedClaim{std::string(key), claimer});
          });
          std::optional<UserJournal::Lsn> last;
          for (const MovedClaim& claim : moved) {
            ++dropped;
            if (!owner.partition.DropClaim(claim.key, claim.claimer)) continue;
            // Another partition's user: its claim was journaled here, so is its drop.
            if (auto lsn = owner.journal.LogEmailClaim(kEmailRelease, claim.claimer, claim.key)) {
              last = lsn;
            }
          }
          return last;
        };
      },
      std::move(done));
}

void CountClaims(UserService& users, std::function<void(size_t)> done) {
  users.shards().MapReduce([](UserShard& shard) { return shard.partition.emails().size(); },
                           size_t{0}, [](size_t& total, size_t count) { total += count; },
                           std::move(done));
}

}  // namespace percore::user
