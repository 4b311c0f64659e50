// A --peer's addresses as one gRPC target, and the service config that asks for round_robin and
// retries only the idempotent methods.

#include "services/remote/peer_target.h"

#include <gtest/gtest.h>

#include <string>

#include "services/remote/peer_service_config.h"
#include "services/remote/remote_inventory_client.h"
#include "services/remote/remote_payment_client.h"
#include "services/remote/remote_user_client.h"

namespace percore::remote {
namespace {

TEST(PeerTargetTest, NumericIpv4ReplicasShareOneStaticTarget) {
  std::string error;
  EXPECT_EQ(PeerTarget({"127.0.0.1:5001", "127.0.0.1:5002"}, &error),
            "ipv4:127.0.0.1:5001,127.0.0.1:5002");
  EXPECT_EQ(PeerTarget({"[::1]:5001"}, &error), "ipv6:[::1]:5001");
}

TEST(PeerTargetTest, HostNamesAreResolvedPreferringIpv4) {
  std::string error;
  EXPECT_EQ(PeerTarget({"localhost:7"}, &error), "ipv4:127.0.0.1:7") << error;
}

TEST(PeerTargetTest, BadAddressesAreNamed) {
  for (std::string bad : {"127.0.0.1", "127.0.0.1:", ":5001", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:50x", "::1:5001", "[]:5001"}) {
    std::string error;
    EXPECT_FALSE(PeerTarget({"127.0.0.1:1", bad}, &error)) << bad;
    EXPECT_NE(error.find("\"" + bad + "\""), std::string::npos) << error;
  }
  std::string error;
  EXPECT_FALSE(PeerTarget({}, &error));
  EXPECT_FALSE(PeerTarget({"no-such-host.invalid:5001"}, &error));
  EXPECT_NE(error.find("no-such-host.invalid"), std::string::npos) << error;
  EXPECT_FALSE(PeerTarget({"127.0.0.1:1", "[::1]:2"}, &error));
  EXPECT_NE(error.find("IPv6"), std::string::npos) << error;
}

TEST(PeerServiceConfigTest, RoundRobinAndRetryOnlyForTheNamedMethods) {
  std::string config = PeerServiceConfig("payment.v1.PaymentService", {"ProcessPayment"});
  EXPECT_NE(config.find(R"("loadBalancingConfig":[{"round_robin":{}}])"), std::string::npos);
  EXPECT_NE(config.find(R"({"service":"payment.v1.PaymentService","method":"ProcessPayment"})"),
            std::string::npos)
      << config;
  EXPECT_NE(config.find(R"("retryableStatusCodes":["UNAVAILABLE"])"), std::string::npos);
  EXPECT_NE(config.find(R"("initialBackoff":"0.020s")"), std::string::npos) << config;

  std::string no_retries = PeerServiceConfig("x.v1.X", {});
  EXPECT_EQ(no_retries, R"({"loadBalancingConfig":[{"round_robin":{}}]})");
}

TEST(PeerServiceConfigTest, OnlyIdempotentMethodsAreRetried) {
  using Methods = std::vector<std::string>;
  EXPECT_EQ(RemoteUserClient::Options({}).retryable_methods, Methods({"GetUser"}));
  EXPECT_EQ(RemoteInventoryClient::Options({}).retryable_methods,
            Methods({"GetProduct", "ReserveStock", "CommitReservation", "ReleaseReservation",
                     "ReturnReservation"}));
  EXPECT_EQ(RemotePaymentClient::Options({}).retryable_methods,
            Methods({"ProcessPayment", "RefundPayment", "VoidPayment"}));
}

}  // namespace
}  // namespace percore::remote
