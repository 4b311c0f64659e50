#pragma once
// Threading contract: see schema.h.
//
// A Schema from the server's reflection service: a DescriptorPool whose fallback database is a
// ReflectionDatabase, so looking a name up fetches its file and dependencies the first time.
// Used whenever --proto is not given, as ghz and grpcurl do.

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>

#include "tools/grpcdyn/schema.h"

namespace percore::grpcdyn {

std::unique_ptr<Schema> MakeReflectionSchema(std::shared_ptr<grpc::Channel> channel,
                                             std::chrono::nanoseconds timeout);

}  // namespace percore::grpcdyn
