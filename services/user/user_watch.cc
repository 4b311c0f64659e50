#include "services/user/user_watch.h"

#include "core/base/status.h"

namespace percore::user {

namespace {
// A reference to the shared bytes, not a copy.
const rpc::SerializedMessage& AsMessage(const UserEvent& event) { return event.bytes; }
}  // namespace

void UserWatch::Deliver(const SharedUserEvent& event) {
  if (ended_) return;
  if (backlog_.empty() && stream_.writable()) {
    stream_.WriteRaw(AsMessage(*event));
    if (event->deleted && one_user_) End(Status());
    return;
  }
  if (!backlog_.Push(event)) {
    End(Status(StatusCode::kResourceExhausted,
               "watcher fell more than " + std::to_string(backlog_.capacity()) +
                   " events behind; read the user again and re-watch"));
    return;
  }
  WaitForRoom();
}

void UserWatch::WaitForRoom() {
  if (waiting_for_room_) return;
  waiting_for_room_ = true;
  // Weak: the stream keeps its callback until the call ends, the handler may drop the watch
  // before that.
  stream_.OnWritable([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->waiting_for_room_ = false;
      self->Flush();
    }
  });
}

void UserWatch::Flush() {
  while (!ended_ && !backlog_.empty()) {
    if (!stream_.writable()) {
      WaitForRoom();
      return;
    }
    SharedUserEvent event = std::move(*backlog_.Pop());
    stream_.WriteRaw(AsMessage(*event));
    if (event->deleted && one_user_) End(Status());
  }
}

void UserWatch::End(const Status& status) {
  if (ended_) return;
  ended_ = true;
  if (status.ok()) {
    stream_.Finish(status);
  } else {
    stream_.FinishNow(status);
  }
}

}  // namespace percore::user
