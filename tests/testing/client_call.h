#pragma once
// Threading contract: stateless helpers; each call blocks the calling thread on its own
// ClientContext, so several threads may call them at once, each with its own stub or a shared
// one (gRPC stubs are thread-safe).
//
// One blocking client call with a deadline, so no call can hang a suite: the generated stub's
// method, the request, and where the response goes (or nowhere).
//
//   v1::User user;
//   grpc::Status status = CallUnary(stub, &Stub::GetUser, request, &user);

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "tests/testing/client_queue.h"

namespace percore::testing {

using namespace std::chrono_literals;

// The deadline of every client call unless a test says otherwise.
constexpr std::chrono::milliseconds kCallTimeout = 20s;

inline void SetDeadline(grpc::ClientContext& context,
                        std::chrono::milliseconds timeout = kCallTimeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

// stub.*method(request) within `timeout`; the response goes to *response when given.
template <class Stub, class Request, class Response>
grpc::Status CallUnary(Stub& stub,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                    Response*),
                       const Request& request, Response* response = nullptr,
                       std::chrono::milliseconds timeout = kCallTimeout) {
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  Response got;
  grpc::Status status = (stub.*method)(&context, request, &got);
  if (response) *response = std::move(got);
  return status;
}

// A unary call of `method` ("/package.Service/Method") with raw bytes for a body, through
// gRPC's generic stub: for methods no generated stub has, and bodies no message parses from.
inline grpc::Status CallGenericUnary(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::string& method, const std::string& body) {
  grpc::GenericStub generic(channel);
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  grpc::ClientContext context;
  SetDeadline(context);
  ClientQueue queue;  // after the buffers and the status its completion writes into
  queue.CancelBeforeDrain(&context);
  auto call = generic.PrepareUnaryCall(&context, method, request, queue.cq());
  call->StartCall();
  call->Finish(&response, &status, Tag(1));
  ::testing::AssertionResult finished = queue.Expect(Tag(1), true).Verify();
  if (!finished) return grpc::Status(grpc::StatusCode::INTERNAL, finished.message());
  return status;
}

}  // namespace percore::testing
