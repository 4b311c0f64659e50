#pragma once
// Threading contract: a ChatConversation lives on the shard that serves its ChatSession call and is
// used only there; order lookups hop to the owning shard and continue here.
//
// One support conversation. Each ChatMessage gets a sequence number as it is read, and exactly
// one ChatResponse, written in sequence order: an answer that is ready early (help, a bad id)
// waits for the status lookups before it, so replies come in the order the messages were sent
// even though lookups finish in any order. Many messages may be in flight; past
// `in_flight_limit` unanswered (or answered but not yet taken by the stream's bounded write
// queue) reading pauses, and it resumes as replies are written, so a client that sends fast
// and reads slowly holds bounded memory. After the client half-closes, the call finishes OK
// once the last reply is written. A cancelled session drops everything; late lookups find it
// gone.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "core/base/status.h"
#include "core/rpc/bidi_stream_call.h"
#include "order/v1/order.pb.h"
#include "services/order/order_id.h"

namespace percore::order {

namespace v1 = ::order::v1;

class ChatConversation : public std::enable_shared_from_this<ChatConversation> {
 public:
  using Stream = rpc::BidiStream<v1::ChatMessage, v1::ChatResponse>;
  // Answers with the order (nullopt: no such order) on this session's shard.
  using LookupDone = std::function<void(std::optional<v1::Order>)>;
  using Lookup = std::function<void(const Uuid& order_id, LookupDone done)>;

  ChatConversation(Stream stream, size_t in_flight_limit, Lookup lookup,
                   std::function<void()> on_end);

  // Starts reading. Call once, right after construction (from the handler).
  void Start();
  // Ends the conversation now with `status` (server drain): replies not yet written are
  // dropped.
  void End(const Status& status);
  // The call is gone (cancelled): nothing more is written.
  void Abandon();

 private:
  void OnMessage(v1::ChatMessage message);
  void Answer(uint64_t seq, v1::ChatResponse response);
  void Flush();
  void WaitForRoom();
  void MaybeFinish();
  void Ended();

  Stream stream_;
  const size_t in_flight_limit_;
  Lookup lookup_;
  std::function<void()> on_end_;
  uint64_t next_seq_ = 0;                       // of the next message read
  uint64_t next_write_ = 0;                     // of the next reply to write
  std::map<uint64_t, v1::ChatResponse> ready_;  // answered, waiting for their turn
  size_t in_flight_ = 0;                        // read and not yet handed to the stream
  bool paused_ = false;
  bool reads_done_ = false;
  bool waiting_for_room_ = false;
  bool ended_ = false;
};

}  // namespace percore::order
