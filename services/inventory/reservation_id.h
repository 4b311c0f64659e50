#pragma once
// Threading contract: ReservationIdGenerator belongs to one shard and is used only on its
// thread; IsReservationId is a pure function (any thread).
//
// A reservation's id: "rsv_" and 16 lower-case hex digits (64 random bits). The generator draws
// until ShardFor(id) is the shard that holds the reservation's record (the shard of its
// reservation_key), so a lookup by id and a lookup by key land on the same shard.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace percore::inventory {

bool IsReservationId(std::string_view text);

class ReservationIdGenerator {
 public:
  explicit ReservationIdGenerator(uint64_t seed) : rng_(seed) {}
  // An id with ShardFor(id, shards) == shard; `taken(id)` rejects ids already in use.
  template <class Taken>
  std::string Next(size_t shard, size_t shards, Taken taken) {
    for (;;) {
      std::string id = Make(rng_());
      if (OwnedBy(id, shard, shards) && !taken(id)) return id;
    }
  }

 private:
  static std::string Make(uint64_t random);
  static bool OwnedBy(std::string_view id, size_t shard, size_t shards);
  std::mt19937_64 rng_;
};

}  // namespace percore::inventory
