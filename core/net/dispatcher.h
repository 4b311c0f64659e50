#pragma once
// Threading contract: Dispatch() is called on every shard's thread (the Dispatcher is shared, so
// it must be read-only once the server starts, or look up a per-shard table itself); a
// MethodHandler's OnStream() and a StreamObserver's callbacks run on the shard thread that owns
// the stream, and never re-entrantly for one stream.
//
// How the wire server hands gRPC streams upward: for each new request the Dispatcher maps the
// path to a MethodHandler (nullptr: UNIMPLEMENTED), whose OnStream() takes the stream, sets an
// observer on it, and drives it (the typed call shapes of core/rpc sit here next). Observers are
// interfaces with member callbacks, not std::functions, since they run once per message.

#include <string_view>

namespace percore::net {

class Stream;

class StreamObserver {
 public:
  // One received message, valid only during the call. Messages come one at a time, in order;
  // Stream::Pause() stops them (and lets the client's flow-control window close).
  virtual void OnMessage(Stream& stream, std::string_view message) = 0;
  // The client half-closed: no more messages (after the last OnMessage).
  virtual void OnHalfClose(Stream& stream) = 0;
  // The call was cancelled before the server finished it: client RST_STREAM, connection closed,
  // or its deadline passed (the client is then answered DEADLINE_EXCEEDED). Writes and Finish()
  // are no-ops from here.
  virtual void OnCancel(Stream& stream) = 0;
  // The write queue, full when a Write() was refused, has room again.
  virtual void OnWritable(Stream& /*stream*/) {}
  // Last callback, exactly once, on every path: the stream is over on the wire. An observer
  // that holds the stream (Stream::Ref) releases it here or later.
  virtual void OnDone(Stream& /*stream*/) {}

 protected:
  ~StreamObserver() = default;
};

class MethodHandler {
 public:
  // A new call on `stream`: set an observer (before returning) and answer when ready. The
  // stream stays alive until the observer's OnDone; take a Stream::Ref to keep it longer.
  virtual void OnStream(Stream& stream) = 0;

 protected:
  ~MethodHandler() = default;
};

class Dispatcher {
 public:
  // The handler for "/package.Service/Method", or nullptr (the client gets UNIMPLEMENTED).
  virtual MethodHandler* Dispatch(std::string_view path) = 0;

 protected:
  ~Dispatcher() = default;
};

}  // namespace percore::net
