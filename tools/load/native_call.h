#pragma once
// Threading contract: owned by one slot of a native load worker; every method runs on that
// worker's thread (from the slot or from its connection's nghttp2 callbacks).
//
// One gRPC call at the byte level, as a client sees it on an HTTP/2 stream: the response
// headers and trailers (HTTP :status, grpc-status, percent-encoded grpc-message; a
// Trailers-Only response is one HEADERS frame carrying grpc-status), the response messages
// counted from their 5-byte prefixes without buffering them, and the call's final status. The
// status follows libgrpc's client where the server gave none: a reset stream, a non-200 HTTP
// status, a lost connection, the local deadline, a cancellation. Reusable: Reset per call.

#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace percore::load {

class NativeConnection;

class NativeCallObserver {
 public:
  // The call is over (status() is final); the call may be reset and restarted later, not
  // from inside this callback's connection callback chain (the worker defers restarts).
  virtual void OnCallDone() = 0;

 protected:
  ~NativeCallObserver() = default;
};

class NativeCall {
 public:
  explicit NativeCall(NativeCallObserver* observer) : observer_(observer) {}

  // Ready for a new call: server streams end OK after `receive_limit` messages (0: no limit).
  void Reset(size_t receive_limit);

  // From the connection's callbacks.
  void OnHeader(std::string_view name, std::string_view value);
  // Counts the messages in a DATA chunk; true once the receive limit is reached (the
  // connection then cancels the stream and the call ends OK).
  bool OnData(const uint8_t* data, size_t length);
  // The stream closed on the wire (h2_error: its RST_STREAM code, or 0).
  void OnStreamClose(uint32_t h2_error);
  // Ends the call now with a status decided on this side (deadline, cancel, lost connection).
  void Finish(grpc::StatusCode code, std::string message);

  bool in_flight() const { return in_flight_; }
  void set_in_flight(NativeConnection* connection, int32_t stream_id);
  NativeConnection* connection() const { return connection_; }
  int32_t stream_id() const { return stream_id_; }
  size_t active_index = 0;  // the call's place in its connection's active list
  // The request frame being sent as the stream's body, and how much of it nghttp2 took.
  const std::string* body = nullptr;
  size_t body_offset = 0;

  const grpc::Status& status() const { return status_; }
  uint64_t messages_received() const { return received_; }
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  void Done(grpc::Status status);

  NativeCallObserver* observer_;
  NativeConnection* connection_ = nullptr;
  int32_t stream_id_ = -1;
  bool in_flight_ = false;
  size_t receive_limit_ = 0;
  int http_status_ = 0;
  std::optional<int> grpc_status_;
  std::string grpc_message_;
  bool limit_reached_ = false;
  uint8_t prefix_[5] = {};
  size_t prefix_have_ = 0;
  uint32_t message_length_ = 0;
  uint32_t message_left_ = 0;
  uint64_t received_ = 0;
  uint64_t bytes_received_ = 0;
  grpc::Status status_;
};

// grpc-message's percent-decoding (%XX to the byte; anything malformed is kept as it is).
std::string PercentDecode(std::string_view in);

}  // namespace percore::load
