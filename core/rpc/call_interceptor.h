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
};

class CallInterceptor {
 public:
  virtual ~CallInterceptor() = default;
  // OK lets the call go on to the next interceptor and then the handler.
  virtual Status Intercept(const InterceptedCall& call) const = 0;
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
  Status Run(const InterceptedCall& call) const {
    for (const auto& interceptor : interceptors_) {
      Status status = interceptor->Intercept(call);
      if (!status.ok()) return status;
    }
    return Status();
  }

 private:
  std::vector<std::unique_ptr<CallInterceptor>> interceptors_;
  std::shared_ptr<const CallRouter> router_;
};

}  // namespace percore::rpc
