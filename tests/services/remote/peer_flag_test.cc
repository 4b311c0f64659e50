// percore-server's --peer flag and the catalog's placement rules: which services may be peers,
// how bad values are named, and that a service is either hosted or a peer.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "services/server/server_flags.h"
#include "services/server/service_catalog.h"

namespace percore::server {
namespace {

std::optional<ServerFlags> Parse(std::vector<std::string> args, std::string* error) {
  args.insert(args.begin(), "percore-server");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return ParseServerFlags(static_cast<int>(argv.size()), argv.data(), error);
}

TEST(PeerFlagTest, ShortAndFullNamesWithReplicasRepeatable) {
  std::string error;
  auto flags =
      Parse({"--peer", "payment=127.0.0.1:5001,127.0.0.1:5002", "--peer=user=[::1]:7", "--peer",
             "inventory.v1.InventoryService=localhost:9", "--peer", "payment=127.0.0.1:5003"},
            &error);
  ASSERT_TRUE(flags) << error;
  EXPECT_EQ(flags->peers["payment"],
            (std::vector<std::string>{"127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003"}));
  EXPECT_EQ(flags->peers["user"], (std::vector<std::string>{"[::1]:7"}));
  EXPECT_EQ(flags->peers["inventory"], (std::vector<std::string>{"localhost:9"}));
}

TEST(PeerFlagTest, OrderIsAPeerForTheGateway) {
  std::string error;
  auto flags = Parse({"--peer", "order=127.0.0.1:5004"}, &error);
  ASSERT_TRUE(flags) << error;
  EXPECT_EQ(flags->peers["order"], (std::vector<std::string>{"127.0.0.1:5004"}));
}

TEST(PeerFlagTest, ErrorsNameTheFlagAndTheBadPart) {
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  for (const Case& c : std::vector<Case>{
           {{"--peer"}, "--peer needs a value"},
           {{"--peer", "payment"}, "\"payment\""},
           {{"--peer", "=127.0.0.1:1"}, "\"=127.0.0.1:1\""},
           {{"--peer", "payment="}, "\"payment=\""},
           {{"--peer", "bank=127.0.0.1:1"}, "unknown service \"bank\""},
           {{"--peer", "interop=127.0.0.1:1"}, "unknown service \"interop\""},
           {{"--peer", "payment=127.0.0.1:1,127.0.0.1"}, "\"127.0.0.1\""},
           {{"--peer", "payment=127.0.0.1:99999"}, "\"127.0.0.1:99999\""},
       }) {
    std::string error;
    EXPECT_FALSE(Parse(c.args, &error)) << c.args.back();
    EXPECT_EQ(error.rfind("--peer", 0), 0u) << error;
    EXPECT_NE(error.find(c.names), std::string::npos) << error;
  }
}

TEST(PeerFlagTest, HelpDescribesPeer) {
  EXPECT_NE(ServerUsage().find("--peer SERVICE=HOST:PORT[,HOST:PORT...]"), std::string::npos);
}

TEST(PlacementTest, APeerForAHostedServiceIsAnError) {
  std::string error;
  auto built = BuildServices({"user"}, {{"user", {"127.0.0.1:1"}}}, &error);
  EXPECT_FALSE(built);
  EXPECT_NE(error.find("--peer user"), std::string::npos) << error;
  EXPECT_TRUE(MakeServices({"user"}, {{"user", {"127.0.0.1:1"}}}, &error).empty());
}

TEST(PlacementTest, WithoutPeersEverythingIsHostedAndHealthComesLast) {
  std::string error;
  auto services = MakeServices({}, &error);
  ASSERT_FALSE(services.empty()) << error;
  EXPECT_EQ(services.back()->name(), "grpc.health.v1.Health");
  std::vector<std::string> names;
  for (auto& s : services) names.push_back(s->name());
  for (const CatalogEntry& entry : ServiceCatalog()) {
    EXPECT_NE(std::find(names.begin(), names.end(), entry.full_name), names.end())
        << entry.full_name;
  }
}

TEST(PlacementTest, OrderNeedsEachCalleeHostedOrAsAPeer) {
  std::string error;
  EXPECT_FALSE(BuildServices({"order"}, {}, &error));
  EXPECT_EQ(error, "order needs user: host it with --services or give --peer user=HOST:PORT");
  EXPECT_FALSE(BuildServices({"order", "user"}, {{"inventory", {"127.0.0.1:1"}}}, &error));
  EXPECT_EQ(error, "order needs payment: host it with --services or give --peer payment=HOST:PORT");
}

TEST(PlacementTest, OrderReachesPeersOverGrpcAndHostedServicesInProcess) {
  std::string error;
  auto mixed = BuildServices(
      {"order", "inventory"},
      {{"user", {"127.0.0.1:1"}}, {"payment", {"127.0.0.1:2", "127.0.0.1:3"}}}, &error);
  ASSERT_TRUE(mixed) << error;
  std::vector<std::string> peers;
  for (auto& peer : mixed->peers) peers.push_back(peer->service() + " " + peer->target());
  // Two payment replicas: the balanced peer, and one peer per replica for VoidPayment (each
  // replica keeps its own ledger); all of them are closed at shutdown.
  EXPECT_EQ(peers,
            (std::vector<std::string>{"user.v1.UserService ipv4:127.0.0.1:1",
                                      "payment.v1.PaymentService ipv4:127.0.0.1:2,127.0.0.1:3",
                                      "payment.v1.PaymentService ipv4:127.0.0.1:2",
                                      "payment.v1.PaymentService ipv4:127.0.0.1:3"}));

  auto local = BuildServices({}, {}, &error);
  ASSERT_TRUE(local) << error;
  EXPECT_TRUE(local->peers.empty());
}

TEST(PlacementTest, APeerAddressThatDoesNotResolveIsAStartUpError) {
  std::string error;
  EXPECT_FALSE(BuildServices({"order"},
                             {{"user", {"127.0.0.1:1"}},
                              {"inventory", {"127.0.0.1:2"}},
                              {"payment", {"no-such-host.invalid:3"}}},
                             &error));
  EXPECT_NE(error.find("--peer payment"), std::string::npos) << error;
  EXPECT_NE(error.find("no-such-host.invalid"), std::string::npos) << error;
}

}  // namespace
}  // namespace percore::server
