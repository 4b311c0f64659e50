#pragma once
// Threading contract: built by one native load worker for itself and read only by that
// worker's thread (its name/value pointers are handed to nghttp2 without copies, so it must
// not move while the worker's connections live).
//
// What every call of a native run sends, encoded once: the request header list (pseudo
// headers, te, content-type, grpc-timeout from --timeout, -m metadata with -bin values
// base64-encoded as gRPC requires) and each -d message with its 5-byte gRPC prefix.

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tools/load/load_plan.h"

namespace percore::load {

// "<=8 digits><unit>" for grpc-timeout, rounded up to the smallest unit that fits.
std::string EncodeGrpcTimeout(std::chrono::nanoseconds timeout);

class NativeRequest {
 public:
  explicit NativeRequest(const LoadPlan& plan);
  NativeRequest(const NativeRequest&) = delete;
  NativeRequest& operator=(const NativeRequest&) = delete;

  const nghttp2_nv* headers() const { return nva_.data(); }
  size_t header_count() const { return nva_.size(); }
  // The index-th -d message, framed (prefix + bytes); callers take it mod frame_count().
  const std::string& frame(size_t index) const { return frames_[index % frames_.size()]; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<nghttp2_nv> nva_;  // points into fields_
  std::vector<std::string> frames_;
};

}  // namespace percore::load
