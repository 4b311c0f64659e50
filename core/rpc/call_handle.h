#pragma once
// Threading contract: see call_base.h. A handle may be moved anywhere but is used, copied and
// destroyed only on its call's shard (Runtime::Hop keeps continuations there).
//
// What every handler handle (UnaryCall, ServerStream, ClientStream, BidiStream) shares: the
// call's shard, its cancellation, and what any gRPC transport provides (request metadata,
// deadline, peer, initial and trailing metadata). It names no libgrpc type, so the same
// handlers could be served by another transport. A handle keeps its call alive; when the last
// one goes without an answer the call answers INTERNAL itself (call_base.h).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/rpc/call_base.h"

namespace percore::rpc {

class CallHandle {
 public:
  runtime::Shard& shard() const { return base_->shard(); }
  // True once the client cancelled, the deadline passed or the connection dropped.
  bool cancelled() const { return base_->cancelled(); }
  // Runs once, on this shard, when the call is cancelled (never after a normal finish).
  void OnCancel(std::function<void()> fn) const { base_->OnCancel(std::move(fn)); }

  // The first value the client sent under `key` (lower-case), valid while the call lives.
  std::optional<std::string_view> metadata(std::string_view key) const {
    return base_->metadata(key);
  }
  // The client's deadline (time_point::max() when it set none).
  std::chrono::system_clock::time_point deadline() const { return base_->deadline(); }
  // The client's address as the transport names it ("ipv4:127.0.0.1:5000").
  std::string peer() const { return base_->peer(); }
  // Only before the initial metadata has gone out (first message, SendInitialMetadata, finish).
  void AddInitialMetadata(const std::string& key, const std::string& value) const {
    base_->AddInitialMetadata(key, value);
  }
  // Only before the call is finished.
  void AddTrailingMetadata(const std::string& key, const std::string& value) const {
    base_->AddTrailingMetadata(key, value);
  }

 protected:
  explicit CallHandle(CallBase* base) : base_(base) {}

  CallRef<CallBase> base_;
};

// The typed face of a handle: its call-data class (one per call shape) is Data.
template <class DataT>
class TypedCallHandle : public CallHandle {
 public:
  using Data = DataT;
  explicit TypedCallHandle(Data* data) : CallHandle(data) {}

 protected:
  Data& data() const { return *static_cast<Data*>(base_.get()); }
};

}  // namespace percore::rpc
