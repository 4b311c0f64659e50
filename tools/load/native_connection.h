#pragma once
// Threading contract: owned by one native load worker and used only on its thread: Connect,
// Start, Cancel, OnEvents and Flush from the worker's loop, nghttp2's callbacks from inside
// OnEvents and Flush. A call's completion (NativeCallObserver::OnCallDone) may run inside
// those; the observer must not start a new call or destroy the connection from there.
//
// One HTTP/2 client connection of percore-load's native transport: a TCP socket on the
// worker's epoll and an nghttp2 client session (framing, HPACK, flow control and stream
// limits are nghttp2's; window updates are its automatic ones). Bytes in go through
// nghttp2_session_mem_recv straight from a stack buffer; bytes out are collected with
// nghttp2_session_mem_send and leave in one send() per loop round (Flush). A request is the
// worker's pre-encoded header list and one pre-framed message with END_STREAM. A closed or
// failed socket ends every call in flight on it with UNAVAILABLE, as libgrpc does.

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include "tools/load/native_call.h"
#include "tools/load/native_request.h"

namespace percore::load {

class NativeConnection {
 public:
  NativeConnection(int epoll_fd, const NativeRequest& request);
  ~NativeConnection();  // ends the calls still in flight (UNAVAILABLE)
  NativeConnection(const NativeConnection&) = delete;
  NativeConnection& operator=(const NativeConnection&) = delete;

  // Blocking connect (at most `timeout`), then non-blocking on the epoll; false with a reason.
  bool Connect(const sockaddr_storage& address, socklen_t length, std::chrono::nanoseconds timeout,
               std::string* error);
  // Sends request `index` on a new stream for `call`; false (the call untouched) when the
  // session cannot take a stream.
  bool Start(NativeCall& call, size_t index);
  // Resets the call's stream (RST_STREAM CANCEL) and ends the call at once with this status.
  void Cancel(NativeCall& call, grpc::StatusCode code, std::string message);
  // Reads what the socket has and feeds it to nghttp2; closes on EOF or an error.
  void OnEvents(uint32_t events);
  // Writes what nghttp2 has queued; closes when the peer is gone and nothing is left to say.
  void Flush();

  bool open() const { return fd_ >= 0; }
  // The server sent GOAWAY (or the connection is closed): new calls need another connection.
  bool accepts_calls() const { return fd_ >= 0 && !goaway_; }
  size_t active_calls() const { return active_.size(); }

 private:
  static nghttp2_session_callbacks* Callbacks();  // shared by all sessions, never freed
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void* user);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user);
  static int OnDataChunk(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t length, void* user);
  static int OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error, void* user);
  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user);

  void Close(const std::string& reason);
  void Remove(NativeCall& call);
  void UpdateEpoll();

  const int epoll_fd_;
  const NativeRequest& request_;
  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::vector<NativeCall*> active_;
  std::string out_;  // bytes nghttp2 produced that the socket has not taken yet
  size_t out_offset_ = 0;
  bool want_out_ = false;  // EPOLLOUT registered
  bool goaway_ = false;
};

}  // namespace percore::load
