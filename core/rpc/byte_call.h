#pragma once
// Threading contract: a ByteCall and its sink live on the shard whose transport received the
// call; every member is called on that shard's thread only (refcounts without atomics).
//
// The byte-level face of one gRPC call, for a transport that has only bytes (percore's own
// HTTP/2 transport, core/net; anything else that frames gRPC messages): the request's metadata,
// deadline and peer, the client's messages one at a time (with pause/resume), a bounded write
// queue with an on-writable notice, and the finish with a status and trailing metadata. It names
// no transport type, so core/rpc's typed adapters (byte_calls.h) sit on it without knowing the
// transport, and a MethodBinding (made where the method's message types are known) can start a
// typed call over it (MethodEntry::StartBytes).
//
// Lifetime: the transport's object is refcounted; the typed call holds one reference for its
// whole life (so metadata stays readable after the wire is done) and is the sink of the
// transport's events until OnDone, which the transport delivers exactly once on every path.

#include <google/protobuf/message.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace percore::rpc {

// For a transport whose messages are not protobuf's binary form (the HTTP gateway's JSON): the
// typed call hands it its typed messages to fill and to encode, so no protobuf bytes are made
// on that path. Called on the call's shard.
class MessageCodec {
 public:
  // Fills `message` (the method's request type, empty) from one client message as the
  // transport carries it; a non-OK status (INVALID_ARGUMENT naming the field) refuses it.
  virtual Status Decode(std::string_view encoded, google::protobuf::Message& message) const = 0;
  // The transport's form of an answer, into `out` (replaced).
  virtual void Encode(const google::protobuf::Message& message, std::string& out) const = 0;
  // The same for an answer already in protobuf's binary form (a stored row) of message type
  // `type`, without making the message.
  virtual void EncodeSerialized(std::string_view bytes, const google::protobuf::Descriptor& type,
                                std::string& out) const = 0;

 protected:
  ~MessageCodec() = default;
};

// What the transport tells the call, on the call's shard, never re-entrantly for one call.
class ByteCallSink {
 public:
  // One client message, valid only during the callback.
  virtual void OnBytes(std::string_view message) = 0;
  // The client half-closed (after its last message).
  virtual void OnHalfClose() = 0;
  // The client reset the stream, the connection dropped or the deadline passed (the transport
  // has answered the client itself); writes and finish are no-ops from here.
  virtual void OnCancel() = 0;
  // A write was refused (or RequestWritable asked) and the queue has room again.
  virtual void OnWritable() = 0;
  // Last, exactly once: the call is over on the wire.
  virtual void OnDone() = 0;

 protected:
  ~ByteCallSink() = default;
};

class ByteCall {
 public:
  virtual void Ref() = 0;
  virtual void Unref() = 0;
  virtual void SetSink(ByteCallSink* sink) = 0;

  // The request: metadata by lower-case key ("-bin" values decoded), the deadline
  // (time_point::max() without one), the peer ("ipv4:127.0.0.1:5000", one per connection).
  virtual std::optional<std::string_view> metadata(std::string_view key) const = 0;
  // Sent more than once (call_core.h); the default suits a transport that cannot repeat a key.
  virtual bool metadata_repeated(std::string_view /*key*/) const { return false; }
  // Both in one pass (call_core.h's metadata_single).
  virtual std::optional<std::string_view> metadata_single(std::string_view key,
                                                          bool* repeated) const {
    *repeated = metadata_repeated(key);
    return metadata(key);
  }
  virtual std::chrono::system_clock::time_point deadline() const = 0;
  virtual std::string_view peer() const = 0;
  // Mutual TLS: the common name of the client certificate the transport verified; "" without.
  virtual std::string_view peer_certificate_name() const { return {}; }

  // Reading: messages stop (and the client's flow-control window closes) while paused.
  virtual void Pause() = 0;
  virtual void Resume() = 0;

  // Writing: initial metadata before the first write (raw bytes for "-bin" keys); Write false
  // (nothing taken) when the queue is full or the call is over, then OnWritable follows once it
  // has room; RequestWritable asks for OnWritable without a refused write.
  virtual void AddInitialMetadata(std::string_view key, std::string_view value) = 0;
  virtual void SendInitialMetadata() = 0;
  virtual bool Write(std::string_view message) = 0;
  virtual bool writable() const = 0;
  virtual void RequestWritable() = 0;
  // Ends the call after the queued messages: trailers with the status and trailing metadata.
  virtual void AddTrailingMetadata(std::string_view key, std::string_view value) = 0;
  virtual void Finish(StatusCode code, std::string_view message) = 0;
  // Ends the call now, whatever is queued: trailers with the status when every message went
  // out, else a stream reset (a client that stopped reading would never see trailers queued
  // behind its unread messages); OnCancel follows a reset. For the idle-stream sweeper.
  virtual void EndNow(StatusCode code, std::string_view message) = 0;

  // nullptr (the default): messages are protobuf's binary form. Otherwise OnBytes and Write
  // carry the codec's form. Constant for the call's life.
  virtual const MessageCodec* codec() const { return nullptr; }

 protected:
  ~ByteCall() = default;
};

}  // namespace percore::rpc
