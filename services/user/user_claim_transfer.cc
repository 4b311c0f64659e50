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

void AdoptClaims(UserService& users, std::vector<MovedClaim> claims,
                 std::function<void(Result<Adopted>)> done) {
  std::vector<std::vector<MovedClaim>> by_shard(users.shards().size());
  for (MovedClaim& claim : claims) {
    by_shard[users.shards().ShardFor(claim.key)].push_back(std::move(claim));
  }
  struct Gather {
    Adopted adopted;
    Status status;
    size_t pending = 0;
    std::function<void(Result<Adopted>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  gather->pending = by_shard.size();
  struct ShardAnswer {
    Status status;
    Adopted adopted;
  };
  for (runtime::ShardId shard = 0; shard < by_shard.size(); ++shard) {
    users.shards().InvokeOnAsync<ShardAnswer>(
        shard,
        [chunk = std::move(by_shard[shard])](UserShard& owner, auto reply) {
          ShardAnswer answer;
          if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
            answer.status = writable;
            reply(std::move(answer));
            return;
          }
          std::optional<UserJournal::Lsn> last;
          for (const MovedClaim& claim : chunk) {
            Result<storage::ClaimOutcome> claimed =
                owner.partition.emails().Claim(claim.key, claim.claimer);
            if (!claimed.ok()) {
              ++answer.adopted.conflicts;
              continue;
            }
            ++answer.adopted.taken;
            // This partition's own user: its row says (rebuilt at recovery), no record.
            if (cluster::OwnsId(claim.claimer.view())) continue;
            owner.partition.NoteRemoteClaim(claim.key, claim.claimer);
            if (*claimed == storage::ClaimOutcome::kNewlyClaimed) {
              if (auto lsn = owner.journal.LogEmailClaim(kEmailClaim, claim.claimer, claim.key)) {
                last = lsn;
              }
            }
          }
          owner.journal.AfterDurable(last, [reply, answer](const Status& durable) mutable {
            answer.status = durable;
            reply(std::move(answer));
          });
        },
        [gather](ShardAnswer answer) {
          gather->adopted.taken += answer.adopted.taken;
          gather->adopted.conflicts += answer.adopted.conflicts;
          if (!answer.status.ok() && gather->status.ok()) gather->status = answer.status;
          if (--gather->pending > 0) return;
          if (!gather->status.ok()) return gather->done(gather->status);
          gather->done(gather->adopted);
        });
  }
}

void DropMovedClaims(UserService& users, std::function<void(Result<size_t>)> done) {
  struct Dropped {
    Status status;
    size_t count = 0;
  };
  struct Gather {
    Dropped total;
    size_t pending = 0;
    std::function<void(Result<size_t>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  gather->pending = users.shards().size();
  for (runtime::ShardId shard = 0; shard < users.shards().size(); ++shard) {
    users.shards().InvokeOnAsync<Dropped>(
        shard,
        [](UserShard& owner, auto reply) {
          Dropped dropped;
          if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
            dropped.status = writable;
            reply(std::move(dropped));
            return;
          }
          std::vector<MovedClaim> moved;
          owner.partition.emails().ForEach([&](std::string_view key, const UserId& claimer) {
            if (!cluster::OwnsKey(key)) moved.push_back(MovedClaim{std::string(key), claimer});
          });
          std::optional<UserJournal::Lsn> last;
          for (const MovedClaim& claim : moved) {
            ++dropped.count;
            if (!owner.partition.DropClaim(claim.key, claim.claimer)) continue;
            // Another partition's user: its claim was journaled here, so is its drop.
            if (auto lsn = owner.journal.LogEmailClaim(kEmailRelease, claim.claimer, claim.key)) {
              last = lsn;
            }
          }
          owner.journal.AfterDurable(last, [reply, dropped](const Status& durable) mutable {
            dropped.status = durable;
            reply(std::move(dropped));
          });
        },
        [gather](Dropped dropped) {
          gather->total.count += dropped.count;
          if (!dropped.status.ok() && gather->total.status.ok()) {
            gather->total.status = dropped.status;
          }
          if (--gather->pending > 0) return;
          if (!gather->total.status.ok()) return gather->done(gather->total.status);
          gather->done(gather->total.count);
        });
  }
}

void CountClaims(UserService& users, std::function<void(size_t)> done) {
  users.shards().MapReduce([](UserShard& shard) { return shard.partition.emails().size(); },
                           size_t{0}, [](size_t& total, size_t count) { total += count; },
                           std::move(done));
}

}  // namespace percore::user
