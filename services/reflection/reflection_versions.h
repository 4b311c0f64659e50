#pragma once
// Threading contract: type names and constants only.
//
// The two names gRPC's reflection protocol is served under. grpc.reflection.v1 is the current
// one; v1alpha is the original, which most tools still ask for first (grpcurl, grpc_cli, percore's
// own tools). Their messages are field for field the same, so one implementation templated over
// these traits serves both (reflection_answers.h, reflection_session.h).

#include "grpc/reflection/v1/reflection.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"

namespace percore::reflection {

struct V1Alpha {
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;
  static constexpr char kService[] = "grpc.reflection.v1alpha.ServerReflection";
};

struct V1 {
  using Request = grpc::reflection::v1::ServerReflectionRequest;
  using Response = grpc::reflection::v1::ServerReflectionResponse;
  static constexpr char kService[] = "grpc.reflection.v1.ServerReflection";
};

}  // namespace percore::reflection
