#pragma once
// Threading contract: owned by one native load worker and used only on its thread.
//
// One of --connections for a native load worker: the server's address (resolved once) and the
// HTTP/2 connection calls go on, replaced when it is lost or the server sent GOAWAY. A
// connection that said GOAWAY keeps its calls in flight until they end (then it is closed);
// a lost one has already ended them with UNAVAILABLE. A failed connect is retried no sooner
// than a second later (libgrpc's first reconnect back-off); calls meanwhile fail at once
// with UNAVAILABLE, as libgrpc's do on a channel in TRANSIENT_FAILURE.

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tools/load/load_schedule.h"
#include "tools/load/native_connection.h"
#include "tools/load/native_request.h"

namespace percore::load {

// "host:port", "[v6]:port" or "dns:///host:port" to a socket address; false with a reason.
bool ResolveHost(const std::string& host, sockaddr_storage* address, socklen_t* length,
                 std::string* error);

class NativeEndpoint {
 public:
  NativeEndpoint(int epoll_fd, const NativeRequest& request, const std::string& host,
                 std::chrono::nanoseconds connect_timeout);

  // A connection taking calls, connecting one if needed; nullptr with a reason when none can.
  NativeConnection* Usable(std::string* error);
  // One send() per connection with bytes to go; then closes retired connections left idle.
  void Flush();
  // Closes every connection (calls still in flight end UNAVAILABLE).
  void CloseAll();

 private:
  const int epoll_fd_;
  const NativeRequest& request_;
  const std::chrono::nanoseconds connect_timeout_;
  sockaddr_storage address_{};
  socklen_t address_length_ = 0;
  std::string resolve_error_;
  std::unique_ptr<NativeConnection> current_;
  std::vector<std::unique_ptr<NativeConnection>> retiring_;  // after GOAWAY, until idle
  Clock::time_point retry_at_{};
  std::string last_error_;
};

}  // namespace percore::load
