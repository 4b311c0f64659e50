#pragma once
// Threading contract: a WatchStream lives on the shard that serves its stream call and is used
// only there; events reach it as tasks from the shards that own the watched data.
//
// The plumbing of every watch (WatchUserUpdates, WatchOrderUpdates): events go straight to the
// stream while it takes them, else into a bounded backlog that is flushed as the stream becomes
// writable again (OnWritable). A watcher more than `backlog_limit` events behind is ended with
// RESOURCE_EXHAUSTED ("<overflow_hint>"), so writers never wait and memory stays bounded. A
// subclass says how one event is written and whether it is the last of the watch.
//
// Stream is a server-stream handle (rpc::ServerStream): writable(), OnWritable(), Finish(),
// FinishNow().

#include <memory>
#include <string>
#include <utility>

#include "core/base/status.h"
#include "core/storage/bounded_event_queue.h"

namespace percore::rpc {

template <class Stream, class Event>
class WatchStream : public std::enable_shared_from_this<WatchStream<Stream, Event>> {
 public:
  WatchStream(Stream stream, size_t backlog_limit, std::string overflow_hint)
      : stream_(std::move(stream)),
        backlog_(backlog_limit),
        overflow_hint_(std::move(overflow_hint)) {}
  virtual ~WatchStream() = default;

  void Deliver(Event event) {
    if (ended_) return;
    if (backlog_.empty() && stream_.writable()) {
      WriteOne(event);
      return;
    }
    if (!backlog_.Push(std::move(event))) {
      End(Status(StatusCode::kResourceExhausted, "watcher fell more than " +
                                                     std::to_string(backlog_.capacity()) +
                                                     " events behind; " + overflow_hint_));
      return;
    }
    WaitForRoom();
  }

  // Ends the stream with `status` (OK after what is queued; an error at once). The owner drops
  // the subscriptions.
  void End(const Status& status) {
    if (ended_) return;
    ended_ = true;
    if (status.ok()) {
      stream_.Finish(status);
    } else {
      stream_.FinishNow(status);
    }
  }
  bool ended() const { return ended_; }
  Stream& stream() { return stream_; }

 protected:
  // Writes `event` (the stream is writable); true when nothing may follow it (the watch then
  // ends OK).
  virtual bool Write(const Event& event) = 0;

 private:
  void WriteOne(const Event& event) {
    if (Write(event)) End(Status());
  }

  void WaitForRoom() {
    if (waiting_for_room_) return;
    waiting_for_room_ = true;
    // Weak: the stream keeps its callback until the call ends; the owner may drop the watch
    // before that.
    stream_.OnWritable([weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        self->waiting_for_room_ = false;
        self->Flush();
      }
    });
  }

  void Flush() {
    while (!ended_ && !backlog_.empty()) {
      if (!stream_.writable()) {
        WaitForRoom();
        return;
      }
      Event event = std::move(*backlog_.Pop());
      WriteOne(event);
    }
  }

  Stream stream_;
  bool ended_ = false;
  bool waiting_for_room_ = false;
  storage::BoundedEventQueue<Event> backlog_;
  std::string overflow_hint_;
};

}  // namespace percore::rpc
