#include "services/order/order_watch.h"

#include <string>

#include "core/base/status.h"

namespace percore::order {
namespace {

rpc::SerializedMessage ToMessage(const std::string& bytes) {
  return rpc::SerializedMessage::Copy(bytes);
}

}  // namespace

void OrderWatch::Deliver(OrderEvent event) {
  if (ended_) return;
  if (backlog_.empty() && stream_.writable()) {
    Write(event);
    return;
  }
  if (!backlog_.Push(std::move(event))) {
    End(Status(StatusCode::kResourceExhausted,
               "watcher fell more than " + std::to_string(backlog_.capacity()) +
                   " events behind; read the orders again and re-watch"));
    return;
  }
  WaitForRoom();
}

void OrderWatch::Write(const OrderEvent& event) {
  stream_.WriteRaw(ToMessage(event.bytes));
  if (event.terminal && one_order_) End(Status());  // nothing follows for this order
}

void OrderWatch::WaitForRoom() {
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

void OrderWatch::Flush() {
  while (!ended_ && !backlog_.empty()) {
    if (!stream_.writable()) {
      WaitForRoom();
      return;
    }
    Write(*backlog_.Pop());
  }
}

void OrderWatch::End(const Status& status) {
  if (ended_) return;
  ended_ = true;
  if (status.ok()) {
    stream_.Finish(status);
  } else {
    stream_.FinishNow(status);
  }
}

}  // namespace percore::order
