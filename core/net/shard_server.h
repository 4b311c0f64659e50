#pragma once
// Threading contract: made, used and destroyed on its shard's thread only (Server submits the
// construction, Drain and destruction as tasks).
//
// One shard's part of the native server: its own listening socket (SO_REUSEPORT on the shared
// port, so the kernel spreads connections over the shards), accept4 on readiness, and the
// connections it accepted, which it keeps for their whole life. Out of file descriptors
// (EMFILE/ENFILE), it drops the pending connection with a spare fd, as core/rpc's acceptor does,
// and if even that fails, stops watching the listener for a moment (a timer) instead of
// spinning on it or giving up accepting.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "core/base/accept_errors.h"
#include "core/net/dispatcher.h"
#include "core/net/wire_options.h"
#include "core/runtime/poller.h"
#include "core/runtime/shard.h"

namespace percore::net {

class Connection;

class ShardServer final : public runtime::FdHandler {
 public:
  ShardServer(runtime::Shard& shard, int listen_fd, Dispatcher& dispatcher,
              const WireOptions& options, WireStats& stats);
  ~ShardServer();  // closes the listener and every connection (open streams are cancelled)
  ShardServer(const ShardServer&) = delete;
  ShardServer& operator=(const ShardServer&) = delete;

  void Start();
  // New connections handshake TLS with `ctx` (this shard takes a reference); nullptr: plaintext.
  void SetTls(SSL_CTX* ctx);
  SSL_CTX* tls() const { return tls_; }
  // Stops accepting and sends GOAWAY on every connection; they close as their streams finish.
  void Drain();

  Dispatcher& dispatcher() { return dispatcher_; }
  const WireOptions& options() const { return options_; }
  WireStats& stats() { return stats_; }
  runtime::Poller& poller() { return *shard_.poller(); }
  bool draining() const { return draining_; }
  // The shard's one read buffer: nghttp2 copies what it keeps, so connections share it.
  uint8_t* read_buffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferBytes = 64 << 10;

  void Link(Connection* connection);  // also gives it its max connection age
  void Unlink(Connection* connection);

 private:
  void OnFdReady(uint32_t events) override;
  void OutOfDescriptors();
  void PauseAccepting();
  void StopListening();
  // Max connection age: one timer per shard, armed while any connection is open, walks the
  // list (a tenth of the age apart, at most a second): a connection is aged a little late,
  // and no connection carries a timer of its own.
  void ArmAgeSweep();
  void SweepAges();

  runtime::Shard& shard_;
  int listen_fd_;
  Dispatcher& dispatcher_;
  const WireOptions& options_;
  WireStats& stats_;
  std::unique_ptr<uint8_t[]> read_buffer_;
  Connection* connections_ = nullptr;
  std::optional<SpareDescriptor> spare_;  // from Start(): sheds a connection when out of fds
  SSL_CTX* tls_ = nullptr;                // this shard's reference
  bool accept_paused_ = false;
  bool draining_ = false;
  runtime::TimerId resume_timer_ = 0;
  runtime::TimerId age_timer_ = 0;
  uint64_t jitter_state_;  // xorshift: the ±10% jitter of each connection's age
  runtime::Clock::time_point last_log_{};
};

}  // namespace percore::net
