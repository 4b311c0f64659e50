#pragma once
// Threading contract: a Stream belongs to the shard whose connection received it; every member
// is called on that shard's thread only. Refcounted without atomics for the same reason.
//
// One gRPC call at the byte level on percore's own transport: the request's path, metadata,
// deadline and peer; received messages delivered one at a time as bytes (length prefix parsed,
// size limit checked from the prefix before anything is buffered); writes of whole messages into
// a bounded queue with an on-writable callback; Finish() with a status, a message and trailing
// metadata. The typed call shapes (core/rpc) are meant to sit on this next.
//
// Lifetime: the connection holds one reference from the request's HEADERS until the stream is
// closed on the wire (finished and sent, reset by the client, the connection gone); anyone else
// who keeps the stream past its observer's OnDone() takes Ref()/Unref(). It is freed exactly
// once, by the last Unref(). Flow control: bytes the observer has not taken (it paused) are not
// given back to the client's stream window, so a paused consumer stops the sender; the
// connection window is returned at once, so one paused stream does not stall the others —
// unless the connection's streams together buffer more than its budget
// (WireOptions::connection_buffer_bytes), when the connection window is held back too.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/runtime/timer_queue.h"

namespace percore::net {

class Connection;
class MethodHandler;
class NvList;
class StreamObserver;

class Stream {
 public:
  Stream(Connection* connection, int32_t id);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }

  // The request.
  std::string_view path() const { return At(path_); }
  std::string_view authority() const { return At(authority_); }
  // The first value of `key` (lower-case); -bin values come base64-decoded.
  std::optional<std::string_view> metadata(std::string_view key) const;
  // `key` (lower-case) sent more than once.
  bool metadata_repeated(std::string_view key) const;
  // Both in one pass: the first value of `key`, and in `*repeated` whether it came again.
  std::optional<std::string_view> metadata_single(std::string_view key, bool* repeated) const;
  // Every custom entry, in order: (key, value).
  size_t metadata_count() const { return entries_.size(); }
  std::pair<std::string_view, std::string_view> metadata_at(size_t i) const;
  // Clock::time_point::max() without grpc-timeout.
  runtime::Clock::time_point deadline() const { return deadline_; }
  // "ipv4:127.0.0.1:port" or "ipv6:[::1]:port".
  std::string_view peer() const;
  // The connection's verified client certificate's common name, or "" (Connection's).
  std::string_view peer_certificate_name() const;
  int32_t id() const { return id_; }

  // State.
  bool cancelled() const { return cancelled_; }
  bool finished() const { return finished_; }
  bool half_closed() const { return half_close_delivered_; }

  void SetObserver(StreamObserver* observer) { observer_ = observer; }
  // Stops delivering messages (and returning window to the client) until Resume().
  void Pause() { paused_ = true; }
  void Resume();

  // Response headers: sent with the first Write(), or at Finish() (Trailers-Only) if none.
  // Keys lower-case; values of -bin keys are raw bytes (base64-encoded here).
  void AddInitialMetadata(std::string_view key, std::string_view value);
  void SendInitialMetadata();
  // Queues one message. False (nothing queued) once finished or cancelled, or while the queue
  // holds its limit of bytes: then OnWritable() follows when it has drained to half.
  bool Write(std::string_view message);
  bool writable() const;
  // Asks for OnWritable() once the queue has drained to half, without a refused Write() (for a
  // writer that checked writable() first). No-op while the queue has room.
  void RequestWritable() {
    if (!writable()) want_writable_ = true;
  }
  // Ends the call: trailers with grpc-status, grpc-message (percent-encoded) and the trailing
  // metadata. No-op once finished or cancelled.
  void AddTrailingMetadata(std::string_view key, std::string_view value);
  void Finish(StatusCode code, std::string_view message);
  // Ends the call at once: Finish() when every queued byte went out, else RST_STREAM(CANCEL)
  // (trailers queued behind messages the client does not read would never arrive); the
  // observer's OnCancel follows a reset. No-op once closed.
  void EndNow(StatusCode code, std::string_view message);

 private:
  friend class Connection;
  struct Entry {
    uint32_t key_offset, key_size, value_offset, value_size;
  };
  using Header = std::pair<std::string, std::string>;
  struct Slice {
    uint32_t offset = 0, size = 0;
  };
  // One allocation holds the path, the authority and the metadata of a usual request (with a
  // user-agent and a ~170-byte bearer token: about 300 bytes), one more the metadata entries.
  static constexpr size_t kArenaReserve = 512;
  static constexpr size_t kEntriesReserve = 4;

  ~Stream();

  // From the connection (nghttp2 callbacks).
  bool OnHeader(std::string_view name, std::string_view value);  // false: reset the stream
  bool OnHandedOverAuthorization(std::string_view value);        // the same
  // The block ended: :method, :scheme, :path (absolute for http(s), "*" only for OPTIONS) and an
  // authority (:authority or host) came; for CONNECT :authority alone. False: malformed.
  bool CheckRequestHeaders();
  // One field of the client's trailers: the request rules less pseudo-headers. False: malformed.
  bool OnTrailer(std::string_view name, std::string_view value);
  // DATA bytes against `content-length`: false once over it; ContentLengthMet at END_STREAM.
  bool CountData(size_t bytes);
  bool ContentLengthMet() const;
  // A malformed request (RFC 9113 §8.1.1): RST_STREAM PROTOCOL_ERROR; the handler, if any, is
  // cancelled.
  void ResetMalformed();
  bool malformed() const { return malformed_; }
  void OnHeadersDone(bool end_stream);
  void OnData(const uint8_t* data, size_t size);
  void OnEndStream();
  void OnClosed(bool reset_by_peer);  // the connection's reference is released after this
  static long ReadData(void* self, uint8_t* buf, size_t length, uint32_t* flags);

  size_t Parse(const uint8_t* data, size_t size);  // bytes taken
  void Deliver(std::string_view message);
  void DeliverHalfCloseIfDue();
  void ConsumeStreamWindow(size_t bytes);
  void Account();  // tells the connection what pending_ and message_ hold now
  void Cancel();
  void MarkCancelled();
  void OnDeadline();
  Slice Intern(std::string_view value);
  void AddMetadata(std::string_view name, std::string_view value);  // into arena_ and entries_
  // The fields headers and trailers share rules for: te, content-length, host, connection-
  // specific ones (any other is valid here). False: malformed.
  bool OnMessageField(std::string_view name, std::string_view value);
  bool KeyIs(const Entry& e, std::string_view key) const {  // sizes first: mostly no memcmp
    return e.key_size == key.size() &&
           std::memcmp(arena_.data() + e.key_offset, key.data(), key.size()) == 0;
  }
  std::string_view At(Slice slice) const {
    return std::string_view(arena_).substr(slice.offset, slice.size);
  }
  void SetStatus(StatusCode code, std::string_view message);
  void AddStatusFields(NvList& nva) const;
  void FinishWithHeaders(StatusCode code, std::string_view message, bool http_error, int status);
  void SubmitHeaders(bool with_body);
  void ScheduleFlush();
  void NotifyWritable();

  Connection* connection_;
  const int32_t id_;
  int refs_ = 1;
  StreamObserver* observer_ = nullptr;
  Stream* prev_ = nullptr;  // the connection's list of open streams
  Stream* next_ = nullptr;

  // Request headers.
  std::string arena_;  // path, authority, metadata keys and values, addressed by slices
  Slice path_, authority_;
  std::string encoding_;  // only when not identity
  bool post_ = false;
  bool grpc_content_type_ = false;
  std::vector<Entry> entries_;
  uint32_t header_bytes_ = 0;
  bool headers_too_large_ = false;
  bool bad_metadata_ = false;
  // RFC 9113 §8.3 (request_header_rules.h): the pseudo-headers seen (PseudoHeader bits), whether
  // a regular field came (no pseudo-header may follow), `host`, `content-length` (-1: none) and
  // the DATA bytes received against it.
  bool malformed_ = false;  // reset for it (ResetMalformed)
  uint8_t pseudo_seen_ = 0;
  bool regular_header_seen_ = false;
  bool host_seen_ = false;
  int64_t content_length_ = -1;
  enum class PathForm : uint8_t { kNone, kRegular, kAsterisk, kOther };
  PathForm path_form_ = PathForm::kNone;
  bool scheme_http_ = false;  // http or https, any case: the :path form rule applies
  bool options_ = false;
  bool connect_ = false;
  int64_t data_bytes_ = 0;
  runtime::Clock::time_point deadline_ = runtime::Clock::time_point::max();
  runtime::TimerId deadline_timer_ = 0;

  // Receiving.
  uint8_t prefix_[5];
  uint8_t prefix_have_ = 0;
  uint32_t message_size_ = 0;
  std::string message_;   // a message split across DATA frames
  std::string pending_;   // bytes received while paused, not yet given back to the window
  size_t accounted_ = 0;  // of pending_ + message_, in the connection's buffered total
  bool paused_ = false;
  bool end_stream_ = false;  // the client's END_STREAM arrived
  bool half_close_delivered_ = false;

  // Sending.
  std::vector<Header> initial_, trailing_;
  StatusCode status_code_ = StatusCode::kOk;  // set at Finish, sent when the data is out
  std::string status_message_;                // percent-encoded
  std::string out_;                           // length-prefixed messages not yet taken by nghttp2
  size_t out_offset_ = 0;
  bool headers_sent_ = false;
  bool data_deferred_ = false;
  bool finish_pending_ = false;  // trailers go when out_ is empty
  bool want_writable_ = false;

  bool dispatched_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  bool closed_ = false;
};

}  // namespace percore::net
