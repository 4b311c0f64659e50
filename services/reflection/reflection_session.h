#pragma once
// Threading contract: a ReflectionSession lives on the shard serving its ServerReflectionInfo
// call and is used only there (its callbacks run on that shard).
//
// One reflection stream: each request is answered in the order it came (ReflectionAnswers, which
// remembers the files this stream has sent), and the answers respect the stream's backpressure:
// when the write queue is full the answer waits here, reading pauses (so a client that sends
// fast and reads slowly holds at most one waiting answer plus the queue), and both resume on
// OnWritable. Once the client half-closes, the call ends OK after the last answer. End() (server
// drain) stops reading and ends the call UNAVAILABLE after the answers already made.
//
// Lifetime: the read callbacks hold the session and the session holds the stream; the call drops
// its callbacks when it ends, which frees both.

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/bidi_stream_call.h"
#include "services/reflection/reflection_answers.h"

namespace percore::reflection {

template <class Version>
class ReflectionSession : public std::enable_shared_from_this<ReflectionSession<Version>> {
 public:
  using Request = typename Version::Request;
  using Response = typename Version::Response;
  using Stream = rpc::BidiStream<Request, Response>;

  // `on_end` runs once, when this session finishes the call itself (not on cancel).
  ReflectionSession(Stream stream, std::shared_ptr<const std::vector<std::string>> services,
                    std::function<void()> on_end)
      : stream_(std::move(stream)), answers_(std::move(services)), on_end_(std::move(on_end)) {}

  // Starts reading. Call once, from the handler, right after construction.
  void Start() {
    auto self = this->shared_from_this();
    stream_.OnRead([self](Request&& request) { self->OnRequest(request); });
    stream_.OnReadsDone([self] {
      self->reads_done_ = true;
      self->MaybeFinish();
    });
  }

  // Server drain: read no more; end UNAVAILABLE once the answers already made are written.
  void End() {
    if (draining_ || finished_) return;
    draining_ = true;
    if (!paused_) stream_.PauseReads();
    paused_ = true;
    MaybeFinish();
  }

 private:
  void OnRequest(const Request& request) {
    if (draining_ || finished_) return;
    waiting_.push_back(answers_.template Answer<Version>(request));
    Flush();
  }

  void Flush() {
    while (!waiting_.empty()) {
      if (!stream_.Write(waiting_.front())) {
        WaitForRoom();
        return;
      }
      waiting_.pop_front();
    }
    if (paused_ && !draining_) {
      paused_ = false;
      stream_.ResumeReads();
    }
    MaybeFinish();
  }

  // The queue is full (or the stream is ending: then OnWritable never comes and the call's end
  // frees this session).
  void WaitForRoom() {
    if (!paused_) {
      paused_ = true;
      stream_.PauseReads();
    }
    if (room_requested_) return;
    room_requested_ = true;
    stream_.OnWritable([self = this->shared_from_this()] {
      self->room_requested_ = false;
      self->Flush();
    });
  }

  void MaybeFinish() {
    if (finished_ || !waiting_.empty() || !(reads_done_ || draining_)) return;
    finished_ = true;
    stream_.Finish(draining_ ? Status(StatusCode::kUnavailable, "server is shutting down")
                             : Status());
    if (on_end_) std::exchange(on_end_, nullptr)();
  }

  Stream stream_;
  ReflectionAnswers answers_;
  std::function<void()> on_end_;
  std::deque<Response> waiting_;  // answered, not yet taken by the stream's queue
  bool paused_ = false;
  bool room_requested_ = false;
  bool reads_done_ = false;
  bool draining_ = false;
  bool finished_ = false;
};

}  // namespace percore::reflection
