#pragma once
// Threading contract: built on the main thread before the run, then read-only and shared by
// all load workers (ByteBuffers are copied, which only takes references on their slices).
//
// What a load run sends, resolved from the options: the method's path and shape, the request
// messages already serialized (so a call costs no JSON or protobuf work), the headers, and the
// connected channels.

#include <grpcpp/channel.h>
#include <grpcpp/support/byte_buffer.h>

#include <memory>
#include <string>
#include <vector>

#include "tools/grpcdyn/metadata.h"
#include "tools/grpcdyn/method_lookup.h"
#include "tools/load/load_options.h"

namespace percore::load {

struct LoadPlan {
  const LoadOptions* options = nullptr;
  std::string path;  // "/package.Service/Method"
  grpcdyn::CallShape shape = grpcdyn::CallShape::kUnary;
  std::vector<grpc::ByteBuffer> requests;  // the -d messages, serialized, in order
  grpcdyn::Metadata metadata;
  std::vector<std::shared_ptr<grpc::Channel>> channels;  // --connections of them (libgrpc)
  // --client-transport native, for a shape and security it serves (unary or server streaming,
  // plaintext): the workers open their own nghttp2 connections instead of using `channels`.
  bool native_client = false;
};

}  // namespace percore::load
