#include "tools/load/native_connection.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace percore::load {
namespace {

// Windows large enough that flow control never paces a load run's streams (ListUsers pages
// are about 100 KiB); nghttp2 sends the WINDOW_UPDATEs as the bytes are consumed.
constexpr int32_t kStreamWindow = 4 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;
constexpr size_t kReadBuffer = 64 << 10;

}  // namespace

NativeConnection::NativeConnection(int epoll_fd, const NativeRequest& request)
    : epoll_fd_(epoll_fd), request_(request) {}

NativeConnection::~NativeConnection() { Close("connection closed by the client"); }

bool NativeConnection::Connect(const sockaddr_storage& address, socklen_t length,
                               std::chrono::nanoseconds timeout, std::string* error) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  // Linux bounds a blocking connect by the send timeout.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000000000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000000000) / 1000);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return false;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fd_ = fd;
  nghttp2_session_client_new(&session_, Callbacks(), this);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = this;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &event);
  want_out_ = false;
  goaway_ = false;
  return true;
}

bool NativeConnection::Start(NativeCall& call, size_t index) {
  if (!accepts_calls()) return false;
  call.body = &request_.frame(index);
  call.body_offset = 0;
  nghttp2_data_provider body{};
  body.source.ptr = &call;
  body.read_callback = &ReadBody;
  int32_t id = nghttp2_submit_request(session_, nullptr, request_.headers(),
                                      request_.header_count(), &body, &call);
  if (id < 0) return false;
  call.set_in_flight(this, id);
  call.active_index = active_.size();
  active_.push_back(&call);
  return true;
}

void NativeConnection::Remove(NativeCall& call) {
  NativeCall* last = active_.back();
  active_[call.active_index] = last;
  last->active_index = call.active_index;
  active_.pop_back();
}

void NativeConnection::Cancel(NativeCall& call, grpc::StatusCode code, std::string message) {
  // Later frames of the stream find no call (its user data is cleared) and are dropped.
  nghttp2_session_set_stream_user_data(session_, call.stream_id(), nullptr);
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, call.stream_id(), NGHTTP2_CANCEL);
  Remove(call);
  call.Finish(code, std::move(message));
}

void NativeConnection::OnEvents(uint32_t events) {
  if (fd_ < 0) return;
  if (events & EPOLLOUT) Flush();
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  uint8_t buffer[kReadBuffer];
  while (fd_ >= 0) {
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      ssize_t used = nghttp2_session_mem_recv(session_, buffer, static_cast<size_t>(n));
      if (used < 0) {
        Close(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(used)));
        return;
      }
      if (static_cast<size_t>(n) < sizeof buffer) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    Close(n == 0 ? "connection closed by the server"
                 : std::string("recv: ") + std::strerror(errno));
    return;
  }
}

void NativeConnection::Flush() {
  if (fd_ < 0) return;
  for (;;) {
    if (out_offset_ == out_.size()) {
      out_.clear();
      out_offset_ = 0;
      // Everything nghttp2 has to say this round, gathered for one send().
      for (;;) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          Close(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n)));
          return;
        }
        if (n == 0) break;
        out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (out_.empty()) break;
    }
    ssize_t sent = send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close(std::string("send: ") + std::strerror(errno));
      return;
    }
    out_offset_ += static_cast<size_t>(sent);
  }
  bool pending = out_offset_ < out_.size();
  if (pending != want_out_) {
    want_out_ = pending;
    UpdateEpoll();
  }
  if (!pending && !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    Close("connection closed (HTTP/2 session over)");
  }
}

void NativeConnection::UpdateEpoll() {
  epoll_event event{};
  event.events = want_out_ ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  event.data.ptr = this;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
}

void NativeConnection::Close(const std::string& reason) {
  if (fd_ < 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
  close(fd_);
  fd_ = -1;
  nghttp2_session_del(session_);  // runs no callbacks
  session_ = nullptr;
  out_.clear();
  out_offset_ = 0;
  std::vector<NativeCall*> calls;
  calls.swap(active_);
  for (NativeCall* call : calls) call->Finish(grpc::StatusCode::UNAVAILABLE, reason);
}

ssize_t NativeConnection::ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                   uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* call = static_cast<NativeCall*>(source->ptr);
  const std::string& body = *call->body;
  size_t n = std::min(length, body.size() - call->body_offset);
  std::memcpy(buf, body.data() + call->body_offset, n);
  call->body_offset += n;
  if (call->body_offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int NativeConnection::OnHeader(nghttp2_session* session, const nghttp2_frame* frame,
                               const uint8_t* name, size_t namelen, const uint8_t* value,
                               size_t valuelen, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* call =
      static_cast<NativeCall*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (call == nullptr) return 0;
  call->OnHeader({reinterpret_cast<const char*>(name), namelen},
                 {reinterpret_cast<const char*>(value), valuelen});
  return 0;
}

int NativeConnection::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                                  const uint8_t* data, size_t length, void* user) {
  auto* call = static_cast<NativeCall*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (call == nullptr) return 0;
  if (call->OnData(data, length)) {
    // Enough messages of an endless stream: stop it; the call ends OK.
    auto* self = static_cast<NativeConnection*>(user);
    self->Cancel(*call, grpc::StatusCode::OK, "");
  }
  return 0;
}

int NativeConnection::OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error,
                                    void* user) {
  auto* call = static_cast<NativeCall*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (call == nullptr) return 0;
  static_cast<NativeConnection*>(user)->Remove(*call);
  call->OnStreamClose(error);
  return 0;
}

int NativeConnection::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  if (frame->hd.type == NGHTTP2_GOAWAY) static_cast<NativeConnection*>(user)->goaway_ = true;
  return 0;
}

nghttp2_session_callbacks* NativeConnection::Callbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* c = nullptr;
    nghttp2_session_callbacks_new(&c);
    nghttp2_session_callbacks_set_on_header_callback(c, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, &OnFrameRecv);
    return c;
  }();
  return callbacks;
}

}  // namespace percore::load
