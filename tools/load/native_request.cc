#include "tools/load/native_request.h"

#include <cstdint>

#include "core/net/grpc_wire.h"
#include "tools/grpcdyn/message_codec.h"

namespace percore::load {

std::string EncodeGrpcTimeout(std::chrono::nanoseconds timeout) {
  // Units from finest to coarsest with their size in nanoseconds; the value is rounded up so
  // the server never sees a shorter deadline than the client keeps.
  static constexpr std::pair<char, int64_t> kUnits[] = {
      {'n', 1},          {'u', 1000},          {'m', 1000000},
      {'S', 1000000000}, {'M', 60000000000LL}, {'H', 3600000000000LL}};
  int64_t ns = std::max<int64_t>(timeout.count(), 1);
  for (const auto& [unit, size] : kUnits) {
    int64_t value = (ns + size - 1) / size;
    if (value < 100000000) return std::to_string(value) + unit;
  }
  return "99999999H";
}

NativeRequest::NativeRequest(const LoadPlan& plan) {
  const LoadOptions& o = *plan.options;
  std::string authority = o.host;
  if (authority.rfind("dns:///", 0) == 0) authority = authority.substr(7);
  fields_ = {{":method", "POST"},
             {":scheme", "http"},
             {":path", plan.path},
             {":authority", authority},
             {"te", "trailers"},
             {"content-type", "application/grpc"},
             {"user-agent", "percore-load (nghttp2)"}};
  if (o.timeout.count() > 0) fields_.emplace_back("grpc-timeout", EncodeGrpcTimeout(o.timeout));
  for (const auto& [key, value] : plan.metadata) {
    bool binary = key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
    std::string wire;
    if (binary) {
      net::Base64Encode(value, &wire);
    } else {
      wire = value;
    }
    fields_.emplace_back(key, std::move(wire));
  }
  for (auto& [name, value] : fields_) {
    nva_.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(name.data()),
                              reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                              NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE});
  }
  for (const auto& request : plan.requests) {
    std::string bytes = grpcdyn::BufferToBytes(request);
    std::string frame(5, '\0');
    net::WritePrefix(reinterpret_cast<uint8_t*>(frame.data()), static_cast<uint32_t>(bytes.size()));
    frame += bytes;
    frames_.push_back(std::move(frame));
  }
  if (frames_.empty()) frames_.push_back(std::string(5, '\0'));
}

}  // namespace percore::load
