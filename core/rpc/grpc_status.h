// The one mapping between percore's Status (core/base/status.h) and libgrpc's grpc::Status.
//
// Threading contract: pure functions; callable from any thread.
//
// The codes share gRPC's numbers, so each direction is a cast; a code libgrpc sends that percore
// does not know (never today: gRPC has 17) becomes UNKNOWN, as gRPC itself maps it.
#pragma once

#include <grpcpp/support/status.h>

#include "core/base/status.h"

namespace percore::rpc {

inline grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

inline Status FromGrpcStatus(const grpc::Status& status) {
  int code = static_cast<int>(status.error_code());
  if (code < 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) {
    return Status(StatusCode::kUnknown, status.error_message());
  }
  return Status(static_cast<StatusCode>(code), status.error_message());
}

}  // namespace percore::rpc
