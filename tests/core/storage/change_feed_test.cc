#include "core/storage/change_feed.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace percore::storage {
namespace {

using Feed = ChangeFeed<std::string, std::string>;

// What a sink saw, tagged with which sink saw it.
struct Delivery {
  std::string sink;
  std::string key;
  uint64_t seq;
  std::string event;
  bool operator==(const Delivery&) const = default;
};

// Prints a Delivery in failure messages.
void PrintTo(const Delivery& d, std::ostream* os) {
  *os << "{" << d.sink << " " << d.key << " #" << d.seq << " " << d.event << "}";
}

class ChangeFeedTest : public ::testing::Test {
 protected:
  Feed::Sink Record(std::string name) {
    return [this, name](const std::string& key, uint64_t seq, const std::string& event) {
      log_.push_back({name, key, seq, event});
    };
  }

  Feed feed_;
  std::vector<Delivery> log_;
};

TEST_F(ChangeFeedTest, NewFeedHasNoSubscribersAndNoSequence) {
  EXPECT_EQ(feed_.subscriber_count(), 0u);
  EXPECT_EQ(feed_.last_sequence(), 0u);
}

TEST_F(ChangeFeedTest, SequenceStartsAtOneAndAdvancesWithoutSubscribers) {
  EXPECT_EQ(feed_.Publish("a", "e1"), 1u);
  EXPECT_EQ(feed_.Publish("a", "e2"), 2u);
  EXPECT_EQ(feed_.Publish("b", "e3"), 3u);
  EXPECT_EQ(feed_.last_sequence(), 3u);
}

TEST_F(ChangeFeedTest, KeySubscriberReceivesOnlyItsKey) {
  feed_.SubscribeKey("a", Record("s"));
  feed_.Publish("a", "created");
  feed_.Publish("b", "other");
  feed_.Publish("a", "updated");
  EXPECT_EQ(log_, (std::vector<Delivery>{{"s", "a", 1, "created"}, {"s", "a", 3, "updated"}}));
}

TEST_F(ChangeFeedTest, AllSubscriberReceivesEveryKey) {
  feed_.SubscribeAll(Record("all"));
  feed_.Publish("a", "e1");
  feed_.Publish("b", "e2");
  EXPECT_EQ(log_, (std::vector<Delivery>{{"all", "a", 1, "e1"}, {"all", "b", 2, "e2"}}));
}

TEST_F(ChangeFeedTest, DeliveryFollowsSubscriptionOrderAcrossKeyAndAllSubscribers) {
  feed_.SubscribeAll(Record("all1"));
  feed_.SubscribeKey("a", Record("key1"));
  feed_.SubscribeKey("b", Record("other"));
  feed_.SubscribeAll(Record("all2"));
  feed_.SubscribeKey("a", Record("key2"));
  feed_.Publish("a", "e");
  std::vector<std::string> order;
  for (const Delivery& d : log_) order.push_back(d.sink);
  EXPECT_EQ(order, (std::vector<std::string>{"all1", "key1", "all2", "key2"}));
}

TEST_F(ChangeFeedTest, SubscribingBeforeTheKeyExistsSeesItsCreation) {
  feed_.SubscribeKey("future", Record("s"));
  feed_.Publish("future", "created");
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_EQ(log_[0].event, "created");
}

TEST_F(ChangeFeedTest, SequenceKeepsIncreasingWhenAKeyIsDeletedAndRecreated) {
  feed_.SubscribeKey("a", Record("s"));
  feed_.Publish("a", "created");
  feed_.Publish("a", "deleted");
  feed_.Publish("a", "created");
  ASSERT_EQ(log_.size(), 3u);
  EXPECT_LT(log_[0].seq, log_[1].seq);
  EXPECT_LT(log_[1].seq, log_[2].seq);
}

TEST_F(ChangeFeedTest, SubscriberCountTracksSubscribeAndUnsubscribe) {
  SubscriptionId a = feed_.SubscribeKey("a", Record("a"));
  SubscriptionId b = feed_.SubscribeKey("a", Record("b"));
  SubscriptionId all = feed_.SubscribeAll(Record("all"));
  EXPECT_EQ(feed_.subscriber_count(), 3u);
  EXPECT_TRUE(feed_.Unsubscribe(a));
  EXPECT_TRUE(feed_.Unsubscribe(all));
  EXPECT_EQ(feed_.subscriber_count(), 1u);
  EXPECT_TRUE(feed_.Unsubscribe(b));
  EXPECT_EQ(feed_.subscriber_count(), 0u);
}

TEST_F(ChangeFeedTest, SubscriptionIdsAreNonZeroAndDistinct) {
  SubscriptionId a = feed_.SubscribeKey("a", Record("a"));
  SubscriptionId b = feed_.SubscribeAll(Record("b"));
  feed_.Unsubscribe(a);
  SubscriptionId c = feed_.SubscribeKey("a", Record("c"));
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
}

TEST_F(ChangeFeedTest, UnsubscribedSinkReceivesNothingMore) {
  SubscriptionId key = feed_.SubscribeKey("a", Record("key"));
  SubscriptionId all = feed_.SubscribeAll(Record("all"));
  feed_.Publish("a", "e1");
  ASSERT_TRUE(feed_.Unsubscribe(key));
  ASSERT_TRUE(feed_.Unsubscribe(all));
  feed_.Publish("a", "e2");
  EXPECT_EQ(log_.size(), 2u);
}

TEST_F(ChangeFeedTest, UnsubscribeOfUnknownOrEndedIdReturnsFalse) {
  EXPECT_FALSE(feed_.Unsubscribe(0));
  EXPECT_FALSE(feed_.Unsubscribe(12345));
  SubscriptionId id = feed_.SubscribeKey("a", Record("s"));
  EXPECT_TRUE(feed_.Unsubscribe(id));
  EXPECT_FALSE(feed_.Unsubscribe(id));
}

TEST_F(ChangeFeedTest, OtherSubscribersOfAKeySurviveOneUnsubscribe) {
  SubscriptionId first = feed_.SubscribeKey("a", Record("first"));
  feed_.SubscribeKey("a", Record("second"));
  feed_.Unsubscribe(first);
  feed_.Publish("a", "e");
  EXPECT_EQ(log_, (std::vector<Delivery>{{"second", "a", 1, "e"}}));
}

TEST_F(ChangeFeedTest, SinkCanUnsubscribeItselfDuringPublish) {
  SubscriptionId self = 0;
  int calls = 0;
  self = feed_.SubscribeKey("a", [&](const std::string&, uint64_t, const std::string&) {
    ++calls;
    EXPECT_TRUE(feed_.Unsubscribe(self));
    EXPECT_EQ(feed_.subscriber_count(), 1u);  // drops at once, inside the sink
  });
  feed_.SubscribeKey("a", Record("next"));
  feed_.Publish("a", "e1");
  feed_.Publish("a", "e2");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(log_, (std::vector<Delivery>{{"next", "a", 1, "e1"}, {"next", "a", 2, "e2"}}));
  EXPECT_EQ(feed_.subscriber_count(), 1u);
}

TEST_F(ChangeFeedTest, AllSinkCanUnsubscribeItselfDuringPublish) {
  SubscriptionId self = 0;
  int calls = 0;
  self = feed_.SubscribeAll([&](const std::string&, uint64_t, const std::string&) {
    ++calls;
    feed_.Unsubscribe(self);
  });
  feed_.Publish("a", "e1");
  feed_.Publish("b", "e2");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(feed_.subscriber_count(), 0u);
}

TEST_F(ChangeFeedTest, SinkUnsubscribingALaterSinkStopsTheCurrentDelivery) {
  SubscriptionId later = 0;
  SubscriptionId later_all = 0;
  feed_.SubscribeKey("a", [&](const std::string&, uint64_t, const std::string&) {
    feed_.Unsubscribe(later);
    feed_.Unsubscribe(later_all);
  });
  later = feed_.SubscribeKey("a", Record("later"));
  later_all = feed_.SubscribeAll(Record("later_all"));
  feed_.Publish("a", "e");
  EXPECT_TRUE(log_.empty());
  EXPECT_EQ(feed_.subscriber_count(), 1u);
}

TEST_F(ChangeFeedTest, SinkUnsubscribingEverySubscriberOfItsKeyLeavesFeedUsable) {
  std::vector<SubscriptionId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(feed_.SubscribeKey("a", [&](const std::string&, uint64_t, const std::string&) {
      for (SubscriptionId id : ids) feed_.Unsubscribe(id);
    }));
  }
  feed_.Publish("a", "e1");  // the first sink ends all three; the others are not called
  EXPECT_EQ(feed_.subscriber_count(), 0u);
  feed_.SubscribeKey("a", Record("fresh"));
  feed_.Publish("a", "e2");
  EXPECT_EQ(log_, (std::vector<Delivery>{{"fresh", "a", 2, "e2"}}));
}

TEST_F(ChangeFeedTest, SubscriptionMadeInsideASinkSeesOnlyLaterEvents) {
  bool subscribed = false;
  feed_.SubscribeKey("a", [&](const std::string&, uint64_t, const std::string&) {
    if (subscribed) return;
    subscribed = true;
    // Enough subscriptions to force the key's list to reallocate while its sink runs.
    for (int i = 0; i < 16; ++i) feed_.SubscribeKey("a", Record("new-key"));
    feed_.SubscribeAll(Record("new-all"));
  });
  feed_.Publish("a", "e1");
  EXPECT_TRUE(log_.empty());
  feed_.Publish("a", "e2");
  EXPECT_EQ(log_.size(), 17u);
  EXPECT_EQ(feed_.subscriber_count(), 18u);
}

TEST_F(ChangeFeedTest, NestedPublishFromASinkIsDeliveredDepthFirst) {
  feed_.SubscribeKey("a", [&](const std::string&, uint64_t, const std::string& event) {
    log_.push_back({"a-sink", "a", 0, event});
    feed_.Publish("b", "derived");
  });
  feed_.SubscribeAll(Record("all"));
  feed_.Publish("a", "origin");
  EXPECT_EQ(log_, (std::vector<Delivery>{{"a-sink", "a", 0, "origin"},
                                         {"all", "b", 2, "derived"},
                                         {"all", "a", 1, "origin"}}));
}

TEST_F(ChangeFeedTest, UnsubscribeInsideNestedPublishTakesEffectForTheOuterOne) {
  SubscriptionId victim = 0;
  feed_.SubscribeKey(
      "a", [&](const std::string&, uint64_t, const std::string&) { feed_.Publish("b", "inner"); });
  feed_.SubscribeKey(
      "b", [&](const std::string&, uint64_t, const std::string&) { feed_.Unsubscribe(victim); });
  victim = feed_.SubscribeKey("a", Record("victim"));
  feed_.Publish("a", "outer");
  EXPECT_TRUE(log_.empty());
  EXPECT_EQ(feed_.subscriber_count(), 2u);
}

TEST_F(ChangeFeedTest, PublishWithBuildsTheEventOnlyWhenSomeoneListens) {
  int builds = 0;
  auto make = [&] {
    ++builds;
    return std::string("built");
  };
  EXPECT_EQ(feed_.PublishWith("a", make), 1u);
  EXPECT_EQ(builds, 0);
  feed_.SubscribeKey("b", Record("b"));
  EXPECT_EQ(feed_.PublishWith("a", make), 2u);
  EXPECT_EQ(builds, 0);
  EXPECT_EQ(feed_.PublishWith("b", make), 3u);
  EXPECT_EQ(builds, 1);
  feed_.SubscribeAll(Record("all"));
  feed_.SubscribeKey("b", Record("b2"));
  feed_.PublishWith("b", make);
  EXPECT_EQ(builds, 2);  // once per publish, however many sinks
  EXPECT_EQ(log_.size(), 4u);
}

TEST_F(ChangeFeedTest, PublishWithAcceptsAnythingConvertibleToTheEvent) {
  feed_.SubscribeKey("a", Record("s1"));
  feed_.SubscribeAll(Record("s2"));
  feed_.PublishWith("a", [] { return "converted"; });  // const char*, converted once
  EXPECT_EQ(log_,
            (std::vector<Delivery>{{"s1", "a", 1, "converted"}, {"s2", "a", 1, "converted"}}));
}

TEST_F(ChangeFeedTest, EmptyKeyIsAKeyLikeAnyOther) {
  feed_.SubscribeKey("", Record("s"));
  feed_.Publish("", "e");
  feed_.Publish("x", "e");
  EXPECT_EQ(log_.size(), 1u);
}

}  // namespace
}  // namespace percore::storage
