#pragma once
// Threading contract: see call_core.h. A handle may be moved anywhere but is used, copied and
// destroyed only on its call's shard (Runtime::Hop keeps continuations there).
//
// What every handler handle (UnaryCall, ServerStream, ClientStream, BidiStream) shares: the
// call's shard, its cancellation, and what any gRPC transport provides (request metadata,
// deadline, peer, initial and trailing metadata). It names no libgrpc type: a handle holds a
// counted reference to the call's CallCore and a pointer to the same object's shape interface
// (call_ops.h), whichever transport implements them. A handle keeps its call alive; when the
// last one goes without an answer the call answers INTERNAL itself (call_core.h).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/rpc/call_core.h"
#include "core/runtime/shard.h"  // handlers reach their shard through the handle

namespace percore::rpc {

class CallHandle {
 public:
  runtime::Shard& shard() const { return core_->shard(); }
  // True once the client cancelled, the deadline passed or the connection dropped.
  bool cancelled() const { return core_->cancelled(); }
  // Runs once, on this shard, when the call is cancelled (never after a normal finish).
  void OnCancel(std::function<void()> fn) const { core_->OnCancel(std::move(fn)); }

  // The first value the client sent under `key` (lower-case), valid while the call lives.
  std::optional<std::string_view> metadata(std::string_view key) const {
    return core_->metadata(key);
  }
  // The client's deadline (time_point::max() when it set none).
  std::chrono::system_clock::time_point deadline() const { return core_->deadline(); }
  // The client's address as the transport names it ("ipv4:127.0.0.1:5000").
  std::string peer() const { return core_->peer(); }
  // The verified caller (call_interceptor.h), or nullptr when auth is off.
  const auth::Principal* principal() const { return core_->principal(); }
  // Whom the resource must belong to for this caller: the subject of a principal without the
  // `admin` role, or "" when anyone may (auth off, or admin). For Access::kOwner methods.
  std::string required_owner() const {
    const auth::Principal* who = core_->principal();
    return who == nullptr || who->HasRole("admin") ? std::string() : who->subject;
  }
  // Only before the initial metadata has gone out (first message, SendInitialMetadata, finish).
  void AddInitialMetadata(const std::string& key, const std::string& value) const {
    core_->AddInitialMetadata(key, value);
  }
  // Only before the call is finished.
  void AddTrailingMetadata(const std::string& key, const std::string& value) const {
    core_->AddTrailingMetadata(key, value);
  }

 protected:
  explicit CallHandle(CallCore* core) : core_(core) {}

  CallRef<CallCore> core_;
};

// The typed face of a handle: Ops is its shape interface (call_ops.h). A transport makes a
// handle from its call object, which is both a CallCore and an Ops.
template <class OpsT>
class TypedCallHandle : public CallHandle {
 public:
  using Ops = OpsT;
  TypedCallHandle(CallCore* core, Ops* ops) : CallHandle(core), ops_(ops) {}

 protected:
  Ops& ops() const { return *ops_; }

 private:
  Ops* ops_;
};

}  // namespace percore::rpc
