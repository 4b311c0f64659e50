#pragma once
// Threading contract: Listen(), Start() and Stop() from one control thread. The server runs on
// its own thread (one Asio io_context): connections, parsing and the handler all run there, so
// a handler must be safe to call from that thread (read atomics, post to shards; never block
// on a shard). Stop() joins the thread; the handler is not called after it returns.
//
// A small HTTP/1.1 server on Boost.Beast, for the admin port (metrics, health) now and the
// gateway (issue 11) later: keep-alive, a cap on the request's size (413 past it), a read
// timeout (an idle or slow connection is closed), a cap on connections (extra ones are closed
// at accept). The handler sees the method and target and returns status, content type and body.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace percore::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string path() const { return target.substr(0, target.find('?')); }
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow, ...)
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";              // HOST:PORT; port 0 picks a free one
  size_t max_request_bytes = 16 * 1024;            // header and body together
  std::chrono::milliseconds read_timeout{10'000};  // per request, from its first byte awaited
  size_t max_connections = 64;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; false with `error` naming the address when it cannot.
  bool Listen(std::string* error);
  int port() const;
  // Starts serving on the server's own thread.
  void Start();
  // Closes the listener and every connection, joins the thread. Idempotent.
  void Stop();

  struct Impl;  // the io_context side, in the .cc (its sessions reach it)

 private:
  std::unique_ptr<Impl> impl_;
};

// GET routes by path: 404 for an unknown path, 405 (Allow: GET) for another method on a known
// one. The returned handler is what Server takes.
class Router {
 public:
  Router& Get(std::string path, std::function<Response(const Request&)> fn) {
    routes_.emplace_back(std::move(path), std::move(fn));
    return *this;
  }
  Response operator()(const Request& request) const;

 private:
  std::vector<std::pair<std::string, std::function<Response(const Request&)>>> routes_;
};

}  // namespace percore::http
