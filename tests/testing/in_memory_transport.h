#pragma once
// Threading contract: Start*() and everything a call does run on the shard the call is started
// on (from a task there: RunOnShard); its MemoryCallResult is written there and read there too.
//
// An in-process transport with no sockets and no libgrpc: the shape interfaces of
// core/rpc/call_ops.h implemented over in-memory buffers, started through a server's method
// table (MethodEntry::Start), so the same handler objects serve it and libgrpc. It behaves as a
// network transport would where the handlers can tell: requests arrive as bytes and are parsed,
// answers are serialized; the client reads a stream's messages asynchronously (a task per
// burst), so a stream's bounded queue fills and OnWritable runs; the client's messages arrive one
// read at a time (Pause/Resume respected) and then the half-close; the call counts on the shard
// (Shard::CallStarted/CallEnded, so drain waits for it) and frees itself by CallCore's rule.
// Tests prove with LiveMemoryCalls() that every call object is freed. The HTTP gateway can take
// this shape: one CallCore per request, the shape interface over its own buffers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/call_core.h"
#include "core/rpc/call_ops.h"
#include "core/rpc/method_table.h"
#include "core/rpc/serialized_message.h"
#include "core/runtime/shard.h"

namespace percore::testing {

// What the client of one in-memory call has received.
struct MemoryCallResult {
  std::vector<std::string> messages;  // each a serialized response, in order
  std::optional<Status> status;       // set once the call is over
  std::map<std::string, std::string> initial_metadata;
  std::map<std::string, std::string> trailing_metadata;
  bool initial_metadata_sent = false;
  bool cancelled = false;
  class MemoryCall* call = nullptr;  // while the call object lives (for Cancel)

  template <class Message>
  Message message(size_t i) const {
    Message m;
    m.ParseFromString(messages.at(i));
    return m;
  }
};

// In-memory call objects alive in this process.
inline std::atomic<int64_t>& LiveMemoryCalls() {
  static std::atomic<int64_t> live{0};
  return live;
}

struct MemoryCallOptions {
  std::map<std::string, std::string> metadata;
  size_t queue_capacity = 4;  // a stream's bounded write queue
};

// The transport-independent part: CallCore plus the buffers every shape uses.
class MemoryCall : public rpc::CallCore {
 public:
  MemoryCall(runtime::Shard& shard, const rpc::MethodEntry& entry, bool single_response,
             MemoryCallOptions options, std::shared_ptr<MemoryCallResult> result)
      : CallCore(shard),
        entry_(entry),
        single_response_(single_response),
        options_(std::move(options)),
        result_(std::move(result)) {
    Ref();  // the transport's own until the call is over (Complete or Cancel)
    result_->call = this;
    shard.CallStarted();
    ++LiveMemoryCalls();
  }
  ~MemoryCall() override {
    result_->call = nullptr;
    shard().CallEnded();
    --LiveMemoryCalls();
  }

  std::optional<std::string_view> metadata(std::string_view key) override {
    auto it = options_.metadata.find(std::string(key));
    if (it == options_.metadata.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  std::chrono::system_clock::time_point deadline() const override {
    return std::chrono::system_clock::time_point::max();
  }
  std::string peer() const override { return "in-memory"; }
  void AddInitialMetadata(const std::string& key, const std::string& value) override {
    if (!result_->initial_metadata_sent) result_->initial_metadata[key] = value;
  }
  void AddTrailingMetadata(const std::string& key, const std::string& value) override {
    if (!over_) result_->trailing_metadata[key] = value;
  }
  void FinishWithStatus(const Status& status) override {
    if (single_response_) {
      FinishSingle(status);
    } else {
      FinishStream(status, false);
    }
  }
  bool finish_requested() const override { return finish_requested_; }
  std::string method_name() const override { return entry_.descriptor()->name(); }

  // The client cancels (the handler's OnCancel runs; nothing more is delivered).
  void Cancel() {
    if (over_) return;
    result_->cancelled = true;
    queue_.clear();
    Over(Status(StatusCode::kCancelled, "cancelled by the client"), true);
  }

  // The answer of unary and client-streaming calls. An OK status answers the default message
  // (its serialization is empty).
  bool Answer(std::string bytes) {
    if (finish_requested_) return false;
    finish_requested_ = true;
    result_->initial_metadata_sent = true;
    result_->messages.push_back(std::move(bytes));
    Over(Status(), false);
    return true;
  }
  bool FinishSingle(const Status& status) {
    if (status.ok()) return Answer(std::string());
    if (finish_requested_) return false;
    finish_requested_ = true;
    Over(status, false);
    return true;
  }

  // The write side: a bounded queue that the client drains asynchronously.
  bool WriteBytes(std::string bytes) {
    if (!can_write()) {
      if (!finish_requested_ && !over_) want_writable_ = true;
      return false;
    }
    queue_.push_back(std::move(bytes));
    ScheduleDrain();
    return true;
  }
  bool can_write() const {
    return !finish_requested_ && !over_ && queue_.size() < options_.queue_capacity;
  }
  void SetOnWritable(std::function<void()> fn) {
    if (finish_requested_ || over_) return;
    on_writable_ = std::move(fn);
    if (queue_.size() >= options_.queue_capacity) want_writable_ = true;
  }
  void SendInitialMetadataNow() { result_->initial_metadata_sent = true; }
  bool FinishStream(const Status& status, bool drop_queued) {
    if (finish_requested_ || over_) return false;
    finish_requested_ = true;
    if (drop_queued) queue_.clear();
    final_status_ = status;
    ScheduleDrain();
    return true;
  }

  // The read side: the client's messages, one read at a time, then the half-close.
  void SetOnRead(std::function<void(std::string&&)> fn) {
    if (!over_) on_read_ = std::move(fn);
  }
  void SetOnReadsDone(std::function<void()> fn) {
    if (!over_) on_reads_done_ = std::move(fn);
  }
  void Pause() { paused_ = true; }
  void Resume() {
    paused_ = false;
    ReadNext();
  }
  bool reading_over() const { return reads_done_; }
  void SetInbound(std::deque<std::string> messages) { inbound_ = std::move(messages); }

  // Runs the handler through the method table, then starts reading; drops the delivery
  // reference (the one every CallCore starts with).
  template <class Impl>
  static void Deliver(Impl* call, bool reads) {
    call->entry_.Start(*call);
    if (reads) call->StartReading();
    call->Unref();
  }

 protected:
  void ClearCallbacks() override {
    auto read = std::exchange(on_read_, nullptr);
    auto done = std::exchange(on_reads_done_, nullptr);
    auto writable = std::exchange(on_writable_, nullptr);
  }

 private:
  // Runs fn on this shard later, holding a reference meanwhile.
  void Later(std::function<void()> fn) {
    Ref();
    if (!shard().Submit([this, fn = std::move(fn)] {
          fn();
          Unref();
        })) {
      Unref();
    }
  }
  void ScheduleDrain() {
    if (drain_scheduled_) return;
    drain_scheduled_ = true;
    Later([this] {
      drain_scheduled_ = false;
      Drain();
    });
  }
  void Drain() {
    if (over_) return;
    while (!queue_.empty()) {
      result_->initial_metadata_sent = true;
      result_->messages.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (finish_requested_) {
      Over(final_status_, false);
      return;
    }
    if (want_writable_ && on_writable_) {
      want_writable_ = false;
      on_writable_();
    }
  }
  void StartReading() {
    reading_ = true;
    ReadNext();
  }
  void ReadNext() {
    if (!reading_ || paused_ || read_in_flight_ || reads_done_ || finish_requested_ || over_) {
      return;
    }
    read_in_flight_ = true;
    Later([this] {
      read_in_flight_ = false;
      if (over_) return;
      if (inbound_.empty()) {
        reads_done_ = true;
        if (auto fn = std::exchange(on_reads_done_, nullptr)) fn();
        return;
      }
      std::string bytes = std::move(inbound_.front());
      inbound_.pop_front();
      if (on_read_) on_read_(std::move(bytes));
      ReadNext();
    });
  }
  // The call is over for the transport: the client has the status.
  void Over(const Status& status, bool cancelled) {
    over_ = true;
    result_->status = status;
    EndCall(cancelled);
    Unref();  // the transport's own
  }

  const rpc::MethodEntry& entry_;
  const bool single_response_;
  MemoryCallOptions options_;
  std::shared_ptr<MemoryCallResult> result_;
  std::deque<std::string> queue_;
  std::deque<std::string> inbound_;
  Status final_status_;
  std::function<void()> on_writable_;
  std::function<void(std::string&&)> on_read_;
  std::function<void()> on_reads_done_;
  bool finish_requested_ = false;
  bool over_ = false;
  bool drain_scheduled_ = false;
  bool want_writable_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool read_in_flight_ = false;
  bool reads_done_ = false;
};

}  // namespace percore::testing
