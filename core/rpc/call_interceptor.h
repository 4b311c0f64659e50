#pragma once
// Threading contract: a chain is built on the control thread before the server starts and is
// immutable afterwards; Run() and every Intercept() run on the call's shard, before the handler,
// for every call of every shape on every transport. State an interceptor keeps per shard (a
// cache) is indexed by the shard's id and touched only by that shard.
//
// The call chain (the seed's `authenticate` middleware, in one place): ordered interceptors, each
// of which may answer the call itself by returning a status that is not OK — the handler then
// never runs. They see the method, the call (metadata, peer, shard) and, for calls with one
// request message (unary, server-streaming), the parsed request, so a rule can depend on a
// field (a user may read only their own user). Handler failures are mapped in one place too
// (method_table.h's RunHandler: an escaped exception is INTERNAL "internal error", the detail
// logged, never sent).

#include <google/protobuf/message.h>

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/call_core.h"

namespace percore::rpc {

class CallRouter;
class MethodBinding;

struct InterceptedCall {
  CallCore& call;
  const MethodBinding& method;
  const google::protobuf::Message* request;  // nullptr when the client streams its messages
  // What this interceptor's Prepare() made for the method, or nullptr (none, or a call not run
  // through a chain attached to the method).
  const void* prepared = nullptr;
};

class CallInterceptor {
 public:
  virtual ~CallInterceptor() = default;
  // OK lets the call go on to the next interceptor and then the handler.
  virtual Status Intercept(const InterceptedCall& call) const = 0;
  // Once per method, when the chain is attached to it (control thread, before serving): what
  // the interceptor wants handed back with every call of that method (InterceptedCall::prepared,
  // e.g. the method's policy rule, so a call needs no lookup by path). Must live as long as the
  // interceptor.
  virtual const void* Prepare(const MethodBinding& /*method*/) const { return nullptr; }
};

class InterceptorChain {
 public:
  void Add(std::unique_ptr<CallInterceptor> interceptor) {
    interceptors_.push_back(std::move(interceptor));
  }
  bool empty() const { return interceptors_.empty(); }
  // The router that may send a unary call to another process after the chain (call_router.h);
  // nullptr: every call is served here.
  void SetRouter(std::shared_ptr<const CallRouter> router) { router_ = std::move(router); }
  const CallRouter* router() const { return router_.get(); }
  // Each interceptor's Prepare() for `method`, in chain order (MethodBinding keeps them).
  std::vector<const void*> Prepare(const MethodBinding& method) const {
    std::vector<const void*> prepared;
    for (const auto& interceptor : interceptors_) prepared.push_back(interceptor->Prepare(method));
    return prepared;
  }
  // `prepared`: what Prepare() gave for the call's method (empty: nothing prepared).
  Status Run(const InterceptedCall& call, std::span<const void* const> prepared = {}) const {
    if (interceptors_.size() == 1) {  // the usual chain (auth): no loop, no status moved
      return interceptors_[0]->Intercept(InterceptedCall{call.call, call.method, call.request,
                                                         prepared.empty() ? nullptr : prepared[0]});
    }
    for (size_t i = 0; i < interceptors_.size(); ++i) {
      InterceptedCall each{call.call, call.method, call.request,
                           i < prepared.size() ? prepared[i] : nullptr};
      Status status = interceptors_[i]->Intercept(each);
      if (!status.ok()) return status;
    }
    return Status();
  }

 private:
  std::vector<std::unique_ptr<CallInterceptor>> interceptors_;
  std::shared_ptr<const CallRouter> router_;
};

}  // namespace percore::rpc
