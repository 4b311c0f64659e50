#pragma once
// Threading contract: one TestServiceHandler per shard (rpc::ServiceDef); all on that shard.
//
// grpc.testing.TestService, the service gRPC's interop clients drive, implemented on the handler
// API as proof that every call shape works: following gRPC's interop test descriptions
// (EmptyCall, UnaryCall with response size, status and metadata echo, StreamingOutputCall with
// sizes and intervals, StreamingInputCall, FullDuplexCall, HalfDuplexCall; UnimplementedCall is
// deliberately not registered and so answers UNIMPLEMENTED). Intervals use shard timers.

#include <memory>

#include "core/rpc/service_def.h"
#include "grpc/testing/empty.pb.h"
#include "grpc/testing/messages.pb.h"

namespace percore::interop {

using grpc::testing::Empty;
using grpc::testing::SimpleRequest;
using grpc::testing::SimpleResponse;
using grpc::testing::StreamingInputCallRequest;
using grpc::testing::StreamingInputCallResponse;
using grpc::testing::StreamingOutputCallRequest;
using grpc::testing::StreamingOutputCallResponse;

class TestServiceHandler {
 public:
  explicit TestServiceHandler(runtime::Shard& shard) : shard_(shard) {}

  void EmptyCall(rpc::UnaryCall<Empty, Empty> call);
  void UnaryCall(rpc::UnaryCall<SimpleRequest, SimpleResponse> call);
  void StreamingOutputCall(
      rpc::ServerStream<StreamingOutputCallRequest, StreamingOutputCallResponse> call);
  void StreamingInputCall(
      rpc::ClientStream<StreamingInputCallRequest, StreamingInputCallResponse> call);
  void FullDuplexCall(
      rpc::BidiStream<StreamingOutputCallRequest, StreamingOutputCallResponse> call);
  void HalfDuplexCall(
      rpc::BidiStream<StreamingOutputCallRequest, StreamingOutputCallResponse> call);

 private:
  runtime::Shard& shard_;
};

std::shared_ptr<rpc::ServiceDef<TestServiceHandler>> MakeTestService();

}  // namespace percore::interop
