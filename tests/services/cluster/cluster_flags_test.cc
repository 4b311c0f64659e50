// The cluster flags that need no server: a StatefulSet pod's ordinal from its host name, etcd
// URLs, and the membership choices (static --members or live --etcd) PlacementFromFlags allows.
#include "services/cluster/cluster_flags.h"

#include <gtest/gtest.h>

#include <deque>
#include <initializer_list>
#include <string>

namespace percore::cluster {
namespace {

// Parses `args` ("--flag", "value", ...) as main() would; false with `error` on the first bad one.
bool Parse(std::initializer_list<std::string> args, ClusterFlags* flags, std::string* error) {
  std::deque<std::string> rest(args);
  while (!rest.empty()) {
    std::string arg = rest.front();
    rest.pop_front();
    auto take = [&]() -> std::optional<std::string> {
      if (rest.empty()) return std::nullopt;
      std::string value = rest.front();
      rest.pop_front();
      return value;
    };
    std::optional<bool> parsed = ParseClusterFlag(arg, take, flags, error);
    if (!parsed || !*parsed) return false;
  }
  return true;
}

TEST(OrdinalOfHostname, TakesAStatefulSetPodsTrailingOrdinal) {
  EXPECT_EQ(OrdinalOfHostname("percore-0"), 0);
  EXPECT_EQ(OrdinalOfHostname("percore-12"), 12);
  EXPECT_EQ(OrdinalOfHostname("my-percore-cluster-2"), 2);
  EXPECT_EQ(OrdinalOfHostname("percore"), std::nullopt);
  EXPECT_EQ(OrdinalOfHostname("percore-"), std::nullopt);
  EXPECT_EQ(OrdinalOfHostname("percore-2a"), std::nullopt);
  EXPECT_EQ(OrdinalOfHostname("percore-x"), std::nullopt);
}

TEST(EtcdFlags, EndpointsAreHttpUrlsKeptAsHostPort) {
  ClusterFlags flags;
  std::string error;
  ASSERT_TRUE(Parse({"--partitions", "3", "--partition", "1", "--etcd",
                     "http://127.0.0.1:2379,http://etcd-0.etcd:2379/", "--advertise",
                     "percore-1.percore:50051", "--etcd-lease-ttl-seconds", "6"},
                    &flags, &error))
      << error;
  EXPECT_EQ(flags.etcd, (std::vector<std::string>{"127.0.0.1:2379", "etcd-0.etcd:2379"}));
  EXPECT_EQ(flags.advertise, "percore-1.percore:50051");
  EXPECT_EQ(flags.etcd_lease_ttl_seconds, 6);
  std::optional<ClusterPlacement> placement = PlacementFromFlags(flags, &error);
  ASSERT_TRUE(placement) << error;
  EXPECT_EQ(placement->self, 1u);
  EXPECT_EQ(placement->members, (std::vector<std::string>{"", "", ""}));  // learnt from etcd

  for (const char* bad : {"127.0.0.1:2379", "https://127.0.0.1:2379", "http://host",
                          "http://host:2379/v3", "http://a:1,,http://b:2"}) {
    ClusterFlags other;
    EXPECT_FALSE(Parse({"--etcd", bad}, &other, &error)) << bad;
    EXPECT_NE(error.find("--etcd wants"), std::string::npos) << error;
  }
}

TEST(EtcdFlags, MembershipIsStaticOrLiveNotBoth) {
  ClusterFlags flags;
  std::string error;
  ASSERT_TRUE(Parse({"--partitions", "2", "--partition", "0", "--members", "a:1,b:2", "--etcd",
                     "http://127.0.0.1:2379"},
                    &flags, &error));
  EXPECT_FALSE(PlacementFromFlags(flags, &error));
  EXPECT_NE(error.find("not both"), std::string::npos) << error;

  ClusterFlags single;
  ASSERT_TRUE(Parse({"--etcd", "http://127.0.0.1:2379"}, &single, &error));
  EXPECT_FALSE(PlacementFromFlags(single, &error));
  EXPECT_NE(error.find("need --partitions"), std::string::npos) << error;
}

TEST(PartitionFromHostname, ExcludesPartition) {
  ClusterFlags flags;
  std::string error;
  ASSERT_TRUE(Parse({"--partitions", "2", "--partition", "0", "--partition-from-hostname",
                     "--members", "a:1,b:2"},
                    &flags, &error));
  EXPECT_FALSE(PlacementFromFlags(flags, &error));
  EXPECT_NE(error.find("not both"), std::string::npos) << error;
}

TEST(GrownFlag, HistoryEndsAtThePartitionCount) {
  ClusterFlags flags;
  std::string error;
  ASSERT_TRUE(Parse({"--partitions", "3", "--partition", "2", "--members", "a:1,b:2,c:3", "--grown",
                     "2,3@1780000000000", "--grow-joining"},
                    &flags, &error))
      << error;
  EXPECT_TRUE(flags.grow_joining);
  std::optional<ClusterPlacement> placement = PlacementFromFlags(flags, &error);
  ASSERT_TRUE(placement) << error;
  EXPECT_EQ(placement->initial_partitions(), 2u);
  ASSERT_EQ(placement->grown.size(), 1u);
  EXPECT_EQ(placement->grown[0].since_ms, 1780000000000u);
  EXPECT_EQ(placement->grown[0].partitions, 3u);

  ClusterFlags other;
  ASSERT_TRUE(Parse({"--partitions", "4", "--partition", "0", "--members", "a:1,b:2,c:3,d:4",
                     "--grown", "2,3@1780000000000"},
                    &other, &error));
  EXPECT_FALSE(PlacementFromFlags(other, &error));
  EXPECT_NE(error.find("ends with 3 partitions; --partitions is 4"), std::string::npos) << error;

  ClusterFlags bad;
  EXPECT_FALSE(Parse({"--grown", "3"}, &bad, &error));
  EXPECT_NE(error.find("--grown wants"), std::string::npos) << error;
}

}  // namespace
}  // namespace percore::cluster
