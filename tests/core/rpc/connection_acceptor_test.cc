// ConnectionAcceptor alone (binding, the connection cap, Stop), and ServerHost closing every
// connection at Server::Shutdown (no descriptor outlives the server).

#include "core/rpc/connection_acceptor.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/testing/server_fixture.h"

namespace percore::rpc {
namespace {

int Connect(int family, int port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage address{};
  socklen_t length;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&address);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&address);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof *a;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True once the peer has closed `fd` (EOF or reset) within `timeout`; what it sent before
// (gRPC's SETTINGS, a GOAWAY) is read and dropped.
bool ClosedByPeer(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    if (recv(fd, buffer, sizeof buffer, 0) <= 0) return true;
  }
}

int OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  int count = 0;
  while (dirent* e = readdir(dir)) count += e->d_name[0] != '.';
  closedir(dir);
  return count - 1;
}

struct Collected {
  std::mutex mutex;
  std::vector<int> fds;
  size_t size() {
    std::lock_guard lock(mutex);
    return fds.size();
  }
  ~Collected() {
    for (int fd : fds) close(fd);
  }
};

TEST(ConnectionAcceptorTest, PortZeroReportsTheChosenPortAndHandsConnectionsOver) {
  ConnectionAcceptor acceptor({.listen = "127.0.0.1:0"});
  ASSERT_TRUE(acceptor.Listen().ok());
  ASSERT_GT(acceptor.port(), 0);
  Collected got;
  acceptor.Start([&](int fd) {
    std::lock_guard lock(got.mutex);
    got.fds.push_back(fd);
  });
  int client = Connect(AF_INET, acceptor.port());
  ASSERT_GE(client, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return got.size() == 1; }, std::chrono::seconds(5)));
  acceptor.Stop();
  close(client);
}

TEST(ConnectionAcceptorTest, Ipv6Loopback) {
  ConnectionAcceptor acceptor({.listen = "[::1]:0"});
  if (!acceptor.Listen().ok()) GTEST_SKIP() << "no IPv6 loopback here";
  Collected got;
  acceptor.Start([&](int fd) {
    std::lock_guard lock(got.mutex);
    got.fds.push_back(fd);
  });
  int client = Connect(AF_INET6, acceptor.port());
  ASSERT_GE(client, 0);
  EXPECT_TRUE(testing::WaitFor([&] { return got.size() == 1; }, std::chrono::seconds(5)));
  acceptor.Stop();
  close(client);
}

TEST(ConnectionAcceptorTest, PortInUseIsAnErrorNamingTheAddressUnlessReusePort) {
  ConnectionAcceptor first({.listen = "127.0.0.1:0"});
  ASSERT_TRUE(first.Listen().ok());
  std::string taken = "127.0.0.1:" + std::to_string(first.port());
  ConnectionAcceptor second({.listen = taken});
  grpc::Status status = second.Listen();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.error_message().find(taken), std::string::npos) << status.error_message();

  ConnectionAcceptor shared1({.listen = "127.0.0.1:0", .reuse_port = true});
  ASSERT_TRUE(shared1.Listen().ok());
  ConnectionAcceptor shared2(
      {.listen = "127.0.0.1:" + std::to_string(shared1.port()), .reuse_port = true});
  EXPECT_TRUE(shared2.Listen().ok());
}

TEST(ConnectionAcceptorTest, BadAddressesAreErrors) {
  for (const char* listen : {"127.0.0.1:65536", "127.0.0.1", "[::1:5", "no.such.host.invalid:1"}) {
    ConnectionAcceptor acceptor({.listen = listen});
    EXPECT_FALSE(acceptor.Listen().ok()) << listen;
  }
}

TEST(ConnectionAcceptorTest, ConnectionsPastTheCapAreClosedAtOnce) {
  ConnectionAcceptor acceptor({.listen = "127.0.0.1:0", .max_connections = 2});
  ASSERT_TRUE(acceptor.Listen().ok());
  Collected got;  // keeps the handed-over fds open: they count against the cap
  acceptor.Start([&](int fd) {
    std::lock_guard lock(got.mutex);
    got.fds.push_back(fd);
  });
  int a = Connect(AF_INET, acceptor.port());
  int b = Connect(AF_INET, acceptor.port());
  ASSERT_TRUE(testing::WaitFor([&] { return got.size() == 2; }, std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the recount interval
  int c = Connect(AF_INET, acceptor.port());
  EXPECT_TRUE(ClosedByPeer(c, std::chrono::seconds(5)));
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(acceptor.refused(), 1);
  EXPECT_FALSE(ClosedByPeer(a, std::chrono::milliseconds(50)));

  // Once they close (out of the acceptor's sight, as when gRPC closes them), the recount sees
  // it and a new connection is served again. (Clients here are in this process: their fds
  // count too.)
  for (int fd : {a, b, c}) close(fd);
  {
    std::lock_guard lock(got.mutex);
    for (int fd : got.fds) close(fd);
    got.fds.clear();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the recount interval
  int d = Connect(AF_INET, acceptor.port());
  EXPECT_TRUE(testing::WaitFor([&] { return got.size() == 1; }, std::chrono::seconds(5)));
  EXPECT_FALSE(ClosedByPeer(d, std::chrono::milliseconds(50)));
  acceptor.Stop();
  close(d);
}

TEST(ConnectionAcceptorTest, StopJoinsAndClosesTheListener) {
  ConnectionAcceptor acceptor({.listen = "127.0.0.1:0"});
  ASSERT_TRUE(acceptor.Listen().ok());
  std::atomic<int> handed{0};
  acceptor.Start([&](int fd) {
    ++handed;
    close(fd);
  });
  acceptor.Stop();
  EXPECT_EQ(Connect(AF_INET, acceptor.port()), -1);
  EXPECT_EQ(handed.load(), 0);
}

TEST(ConnectionAcceptorTest, ShutdownClosesEveryConnection) {
  {  // gRPC's process-wide descriptors (pollers, wakeups) exist after a first server
    testing::ServerFixture warm(testing::ServerFixture::CatalogServices({"interop"}));
    ASSERT_TRUE(warm.Start().ok());
  }
  int before = OpenFds();
  std::vector<int> clients;
  {
    testing::ServerFixture server(testing::ServerFixture::CatalogServices({"interop"}));
    ASSERT_TRUE(server.Start().ok());
    for (int i = 0; i < 50; ++i) clients.push_back(Connect(AF_INET, server.port()));
    ASSERT_TRUE(
        testing::WaitFor([&] { return OpenFds() >= before + 100; }, std::chrono::seconds(5)));
    server.Shutdown(std::chrono::milliseconds(0));
  }
  for (int fd : clients) EXPECT_TRUE(ClosedByPeer(fd, std::chrono::seconds(5)));
  for (int fd : clients) close(fd);
  EXPECT_TRUE(testing::WaitFor([&] { return OpenFds() <= before; }, std::chrono::seconds(5)))
      << OpenFds() << " descriptors open, " << before << " before the server";
}

}  // namespace
}  // namespace percore::rpc
