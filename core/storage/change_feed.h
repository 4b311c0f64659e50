// ChangeFeed: the changes of one partition, delivered synchronously to its subscribers.
//
// Threading contract: single-threaded, no locks. A feed belongs to the shard that owns its
// partition: Publish, Subscribe* and Unsubscribe run on that shard's thread only. A watcher on
// another shard subscribes by sending a task here, and its sink must forward owned copies of
// what it receives (through the runtime's mailbox, or into a BoundedEventQueue owned by this
// shard), never keep the references it is handed.
//
// Writers never wait: Publish calls every sink inline, so a sink must not block, must not do
// slow work, and must not fail the write. A slow consumer is the sink's problem to bound (see
// BoundedEventQueue), never the writer's.
//
// Sinks may call back into the feed while being called: Unsubscribe (themselves or others),
// Subscribe*, even a nested Publish. The rules:
//   - After Unsubscribe(id) returns, that sink is never called again, even for the event being
//     delivered right now.
//   - A subscription made during a Publish receives only later events.
//   - A nested Publish is delivered in full before the outer one continues (depth first), so
//     for one subscriber sequence numbers can arrive out of order only if sinks publish.
// Destroying the feed from inside a sink is not supported.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace percore::storage {

// Issued by ChangeFeed; never 0, never reused within one feed.
using SubscriptionId = uint64_t;

template <class Key, class Event, class Compare = std::less<>>
class ChangeFeed {
 public:
  using Sink = std::function<void(const Key& key, uint64_t seq, const Event& event)>;

  ChangeFeed() = default;
  // Neither copyable nor movable: sinks capture the feed by address to unsubscribe themselves,
  // and a Publish in progress indexes into its lists.
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Subscribes to the changes of one key. The key need not exist (a watch may start before
  // the row is created, and survives its deletion and re-creation).
  SubscriptionId SubscribeKey(Key key, Sink sink) {
    const SubscriptionId id = next_id_++;
    auto it = by_key_.try_emplace(std::move(key)).first;
    it->second.push_back(Subscriber{id, std::make_unique<Sink>(std::move(sink))});
    index_.emplace(id, it->first);
    ++live_;
    return id;
  }

  // Subscribes to the changes of every key in this partition.
  SubscriptionId SubscribeAll(Sink sink) {
    const SubscriptionId id = next_id_++;
    all_.push_back(Subscriber{id, std::make_unique<Sink>(std::move(sink))});
    index_.emplace(id, std::nullopt);
    ++live_;
    return id;
  }

  // Ends a subscription. Returns false if `id` is unknown or already ended. Safe inside a sink.
  bool Unsubscribe(SubscriptionId id) {
    auto where = index_.find(id);
    if (where == index_.end()) return false;
    std::vector<Subscriber>* list = &all_;
    typename KeyMap::iterator key_it = by_key_.end();
    if (where->second.has_value()) {
      key_it = by_key_.find(*where->second);
      list = &key_it->second;
    }
    index_.erase(where);
    --live_;
    // Lists are sorted by id because ids only grow and subscribers are appended.
    auto sub = std::lower_bound(list->begin(), list->end(), id,
                                [](const Subscriber& s, SubscriptionId v) { return s.id < v; });
    assert(sub != list->end() && sub->id == id);
    if (publish_depth_ > 0) {
      // The sink may be running right now (it may be the caller): mark it and let the
      // outermost Publish destroy it once no delivery loop indexes into these lists.
      sub->live = false;
      dead_.push_back(key_it);
      dead_in_all_ |= key_it == by_key_.end();
      return true;
    }
    list->erase(sub);
    if (key_it != by_key_.end() && key_it->second.empty()) by_key_.erase(key_it);
    return true;
  }

  // Assigns the next sequence number to a change of `key` and delivers it to the key's
  // subscribers and the whole-partition subscribers, merged in subscription order. Returns
  // the sequence number.
  //
  // Sequence numbers come from one counter per partition: they start at 1 and strictly
  // increase across all keys, so they are monotonic per key (with gaps), keep increasing when a
  // key is deleted and re-created, and cost no memory per key.
  uint64_t Publish(const Key& key, const Event& event) {
    return PublishWith(key, [&event]() -> const Event& { return event; });
  }

  // Like Publish, but builds the event (make_event() returning Event or const Event&) only if
  // someone is subscribed to `key` or to the whole partition, so unwatched writes do not pay
  // for serializing an event. The sequence number advances either way.
  template <class MakeEvent>
  uint64_t PublishWith(const Key& key, MakeEvent&& make_event) {
    const uint64_t seq = ++last_seq_;
    auto key_it = by_key_.find(key);
    const size_t key_count = key_it == by_key_.end() ? 0 : key_it->second.size();
    const size_t all_count = all_.size();
    if (key_count == 0 && all_count == 0) return seq;

    // Binds to what make_event returns without copying it; a returned temporary (or a value
    // convertible to Event) lives, converted once, until the end of this call.
    const Event& event = make_event();
    DepthGuard guard(*this);
    // Merge the two id-sorted lists by id. Indexes, not iterators: a sink may append to
    // either list (reallocating it); the counts taken above keep new subscribers out of this
    // event. Nothing is erased from a list while publish_depth_ > 0.
    size_t i = 0;
    size_t j = 0;
    while (i < key_count || j < all_count) {
      Subscriber* next;
      if (j == all_count || (i < key_count && key_it->second[i].id < all_[j].id)) {
        next = &key_it->second[i++];
      } else {
        next = &all_[j++];
      }
      if (!next->live) continue;
      // Hold the sink by its stable heap address: `next` may dangle once the sink runs.
      Sink& sink = *next->sink;
      sink(key, seq, event);
    }
    return seq;
  }

  // Live subscriptions (key and whole-partition). Drops at once on Unsubscribe, even inside a
  // sink.
  size_t subscriber_count() const { return live_; }

  // The sequence number of the latest Publish, 0 before the first.
  uint64_t last_sequence() const { return last_seq_; }

 private:
  struct Subscriber {
    SubscriptionId id;
    // Boxed so the callable keeps its address while it runs even if the list reallocates.
    std::unique_ptr<Sink> sink;
    bool live = true;
  };
  using KeyMap = std::map<Key, std::vector<Subscriber>, Compare>;

  // Restores publish_depth_ even if a sink throws, and sweeps ended subscriptions when the
  // outermost Publish finishes.
  class DepthGuard {
   public:
    explicit DepthGuard(ChangeFeed& feed) : feed_(feed) { ++feed_.publish_depth_; }
    ~DepthGuard() {
      if (--feed_.publish_depth_ == 0) feed_.SweepDead();
    }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    ChangeFeed& feed_;
  };

  void SweepDead() {
    auto is_dead = [](const Subscriber& s) { return !s.live; };
    if (dead_in_all_) std::erase_if(all_, is_dead);
    // A key is listed once per subscriber ended under it; visit each node once, since erasing
    // a node invalidates every copy of its iterator.
    auto by_node = [](typename KeyMap::iterator a, typename KeyMap::iterator b) {
      return std::less<const void*>()(&*a, &*b);
    };
    std::erase(dead_, by_key_.end());
    std::sort(dead_.begin(), dead_.end(), by_node);
    dead_.erase(std::unique(dead_.begin(), dead_.end()), dead_.end());
    for (auto key_it : dead_) {
      std::erase_if(key_it->second, is_dead);
      if (key_it->second.empty()) by_key_.erase(key_it);
    }
    dead_.clear();
    dead_in_all_ = false;
  }

  KeyMap by_key_;
  std::vector<Subscriber> all_;
  // Where each live subscription is: its key, or nullopt for a whole-partition one.
  std::unordered_map<SubscriptionId, std::optional<Key>> index_;
  // Key lists holding subscribers ended during a Publish (end() stands for all_).
  std::vector<typename KeyMap::iterator> dead_;
  bool dead_in_all_ = false;
  size_t live_ = 0;
  int publish_depth_ = 0;
  uint64_t last_seq_ = 0;
  SubscriptionId next_id_ = 1;
};

}  // namespace percore::storage
