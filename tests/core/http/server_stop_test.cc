// core/http's Server::Stop() on a real loopback server with Beast's own client: what was posted
// before Stop() reaches the client — a WebSocket close with its code and reason (the gateway's
// 4014 at SIGTERM), an HTTP answer — a WebSocket still open is closed with 1001, and a client that
// never answers the close handshake holds Stop() no longer than stop_linger, yet gets the close
// frame. Each race case runs many times: the posted task and Stop()'s own were both ready on the
// io thread, in no promised order.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "core/http/http_server.h"

namespace percore::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

constexpr int kRounds = 25;

// Remembers the last exchange opened (WebSocket) or asked (HTTP), from the server's thread.
class Recorder final : public WebSocketHandler {
 public:
  bool Accepts(std::string_view path) const override { return path == "/ws"; }
  void OnOpen(Server&, ExchangeId id, Request&&) override { opened.store(id); }
  void OnText(Server&, ExchangeId, std::string&&) override {}
  void OnClosed(Server&, ExchangeId) override { ++closed; }
  void OnDrained(Server&, ExchangeId, size_t) override {}

  std::atomic<ExchangeId> opened{0};
  std::atomic<ExchangeId> asked{0};
  std::atomic<int> closed{0};
};

// Spins until `id` is set (the server's thread sets it once the exchange is in).
ExchangeId AwaitId(const std::atomic<ExchangeId>& id) {
  while (id.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  return id.load();
}

struct Running {
  explicit Running(ServerOptions options = {}) {
    server = std::make_unique<Server>(
        std::move(options),
        AsyncHandler([this](Server&, ExchangeId id, Request&&) { recorder.asked.store(id); }),
        &recorder);
    std::string error;
    EXPECT_TRUE(server->Listen(&error)) << error;
    server->Start();
  }
  Recorder recorder;
  std::unique_ptr<Server> server;
};

// A connected client WebSocket on /ws, its handshake done.
struct Client {
  explicit Client(int port) : ws(io) {
    tcp::resolver resolver(io);
    asio::connect(ws.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    ws.handshake("127.0.0.1", "/ws");
  }
  // Reads until the server's close; the close frame's code and reason, or the error that came
  // first.
  std::string ReadClose() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws.read(buffer, ec);
    if (ec != websocket::error::closed) return "error: " + ec.message();
    return std::to_string(ws.reason().code) + " " + std::string(ws.reason().reason.c_str());
  }
  asio::io_context io;
  websocket::stream<tcp::socket> ws;
};

TEST(ServerStop, ClosePostedBeforeStopReachesTheClient) {
  for (int round = 0; round < kRounds; ++round) {
    Running running;
    Client client(running.server->port());
    ExchangeId id = AwaitId(running.recorder.opened);
    Server* server = running.server.get();
    ASSERT_TRUE(server->Post([server, id] { server->CloseWebSocket(id, 4014, "shutting down"); }));
    std::thread stopper([server] { server->Stop(); });  // it waits for the client's answer
    EXPECT_EQ(client.ReadClose(), "4014 shutting down") << "round " << round;
    stopper.join();
    EXPECT_EQ(running.recorder.closed.load(), 1);
  }
}

TEST(ServerStop, OpenWebSocketIsClosedGoingAway) {
  Running running;
  Client client(running.server->port());
  AwaitId(running.recorder.opened);
  std::thread stopper([&running] { running.server->Stop(); });
  EXPECT_EQ(client.ReadClose(), "1001 server is stopping");
  stopper.join();
  EXPECT_EQ(running.recorder.closed.load(), 1);
}

TEST(ServerStop, AnswerPostedBeforeStopReachesTheClient) {
  for (int round = 0; round < kRounds; ++round) {
    Running running;
    asio::io_context io;
    tcp::socket socket(io);
    tcp::resolver resolver(io);
    asio::connect(socket, resolver.resolve("127.0.0.1", std::to_string(running.server->port())));
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, "/answer", 11);
    request.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(socket, request);
    ExchangeId id = AwaitId(running.recorder.asked);
    Server* server = running.server.get();
    ASSERT_TRUE(server->Post([server, id] {
      server->Respond(id, Response{.status = 200, .body = std::string(200'000, 'a')});
    }));
    std::thread stopper([server] { server->Stop(); });
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    beast::error_code ec;
    bhttp::read(socket, buffer, response, ec);
    ASSERT_FALSE(ec) << "round " << round << ": " << ec.message();
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body().size(), 200'000u);
    // Then the connection ends (with `Connection: close` when Stop() began before the answer).
    char more;
    socket.read_some(asio::buffer(&more, 1), ec);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    stopper.join();
  }
}

TEST(ServerStop, ClientThatNeverAnswersTheCloseGetsItWithinTheLinger) {
  ServerOptions options;
  options.stop_linger = std::chrono::milliseconds(100);
  Running running(options);
  Client client(running.server->port());
  AwaitId(running.recorder.opened);
  running.server->Stop();  // the client reads nothing until it has returned
  // The raw bytes: the close frame (FIN + opcode 8, code 1001), then the end of the stream.
  std::string bytes;
  char chunk[256];
  beast::error_code ec;
  for (;;) {
    size_t n = client.ws.next_layer().read_some(asio::buffer(chunk), ec);
    bytes.append(chunk, n);
    if (ec) break;
  }
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x88);
  EXPECT_EQ((static_cast<unsigned char>(bytes[2]) << 8) | static_cast<unsigned char>(bytes[3]),
            1001);
}

}  // namespace
}  // namespace percore::http
