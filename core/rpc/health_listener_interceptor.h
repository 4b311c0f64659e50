#pragma once
// Threading contract: built on the control thread before the server starts, immutable after;
// Intercept() runs on the call's shard (it reads only the call).
//
// The gate of the --health-listen port: that port is plaintext so that Kubernetes gRPC probes
// (which cannot speak TLS) reach grpc.health.v1.Health, and it must serve nothing else. A call
// that came in through it (CallCore::via_health_listener(), told by the transport) for any
// other service is answered UNIMPLEMENTED, as if the method did not exist there. First in the
// chain, so such a call is not even authenticated.

#include <string_view>

#include "core/rpc/call_interceptor.h"
#include "core/rpc/method_table.h"

namespace percore::rpc {

class HealthListenerInterceptor final : public CallInterceptor {
 public:
  static constexpr std::string_view kHealthPrefix = "/grpc.health.v1.Health/";

  Status Intercept(const InterceptedCall& call) const override {
    if (!call.call.via_health_listener() || call.method.path().starts_with(kHealthPrefix)) {
      return Status();
    }
    return Status(StatusCode::kUnimplemented,
                  std::string(call.method.path()) +
                      " is not served on the health port (only grpc.health.v1.Health)");
  }
};

}  // namespace percore::rpc
