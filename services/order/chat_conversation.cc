#include "services/order/chat_conversation.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <utility>

#include "core/base/status.h"
#include "services/order/chat_agent.h"

namespace percore::order {
namespace {

google::protobuf::Timestamp Now() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Whether the asker may see `order`: anyone when the message names no user, else only that
// user (a mismatch reads as "not found", so order ids of others are not confirmed).
bool Visible(const v1::Order& order, const std::string& asker) {
  if (asker.empty()) return true;
  std::optional<Uuid> asker_id = Uuid::Parse(asker);
  std::optional<Uuid> owner_id = Uuid::Parse(order.user_id());
  return asker_id && owner_id && *asker_id == *owner_id;
}

}  // namespace

ChatConversation::ChatConversation(Stream stream, size_t in_flight_limit, Lookup lookup,
                                   std::function<void()> on_end)
    : stream_(std::move(stream)),
      in_flight_limit_(in_flight_limit == 0 ? 1 : in_flight_limit),
      lookup_(std::move(lookup)),
      on_end_(std::move(on_end)) {}

void ChatConversation::Start() {
  std::weak_ptr<ChatConversation> weak = weak_from_this();
  stream_.OnRead([weak](v1::ChatMessage&& message) {
    if (auto self = weak.lock()) self->OnMessage(std::move(message));
  });
  stream_.OnReadsDone([weak] {
    if (auto self = weak.lock()) {
      self->reads_done_ = true;
      self->MaybeFinish();
    }
  });
}

void ChatConversation::OnMessage(v1::ChatMessage message) {
  if (ended_) return;
  uint64_t seq = next_seq_++;
  ++in_flight_;
  if (in_flight_ >= in_flight_limit_ && !paused_) {
    paused_ = true;
    stream_.PauseReads();
  }
  v1::ChatResponse response;
  response.set_in_reply_to(message.message_id());
  ChatIntent intent = UnderstandChat(message.text());
  switch (intent.kind) {
    case ChatIntent::kHelp:
      response.set_text(ChatHelpText());
      break;
    case ChatIntent::kStatusMissingId:
      response.set_text(ChatStatusMissingIdText());
      break;
    case ChatIntent::kStatusBadId:
      response.set_text(ChatStatusBadIdText(intent.argument));
      break;
    case ChatIntent::kOther:
      response.set_text(ChatDefaultText());
      break;
    case ChatIntent::kStatus: {
      std::weak_ptr<ChatConversation> weak = weak_from_this();
      std::string asker = message.user_id();
      std::string id = intent.order_id.ToString();
      // May answer inline (the order lives on this shard).
      lookup_(intent.order_id,
              [weak, seq, response, asker, id](std::optional<v1::Order> order) mutable {
                auto self = weak.lock();
                if (!self) return;  // cancelled meanwhile
                if (order && Visible(*order, asker)) {
                  response.set_text(ChatOrderStatusText(*order));
                  response.set_order_id(order->id());
                  response.set_order_status(order->status());
                } else {
                  response.set_text(ChatOrderNotFoundText(id));
                }
                self->Answer(seq, std::move(response));
              });
      return;
    }
  }
  Answer(seq, std::move(response));
}

void ChatConversation::Answer(uint64_t seq, v1::ChatResponse response) {
  if (ended_) return;
  *response.mutable_sent_at() = Now();
  ready_.emplace(seq, std::move(response));
  Flush();
}

void ChatConversation::Flush() {
  auto keep = shared_from_this();  // MaybeFinish may drop the handler's reference
  while (!ended_) {
    auto it = ready_.find(next_write_);
    if (it == ready_.end()) break;
    if (!stream_.writable()) {
      WaitForRoom();
      return;
    }
    stream_.Write(it->second);
    ready_.erase(it);
    ++next_write_;
    --in_flight_;
  }
  if (!ended_ && paused_ && in_flight_ < in_flight_limit_) {
    paused_ = false;
    stream_.ResumeReads();
  }
  MaybeFinish();
}

void ChatConversation::WaitForRoom() {
  if (waiting_for_room_) return;
  waiting_for_room_ = true;
  stream_.OnWritable([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->waiting_for_room_ = false;
      self->Flush();
    }
  });
}

void ChatConversation::MaybeFinish() {
  if (ended_ || !reads_done_ || in_flight_ > 0) return;
  stream_.Finish(Status());  // after the replies queued in the stream
  Ended();
}

void ChatConversation::End(const Status& status) {
  if (ended_) return;
  stream_.Finish(status);
  Ended();
}

void ChatConversation::Abandon() {
  if (ended_) return;
  Ended();
}

void ChatConversation::Ended() {
  auto keep = shared_from_this();
  ended_ = true;
  ready_.clear();
  if (auto on_end = std::exchange(on_end_, nullptr)) on_end();
}

}  // namespace percore::order
