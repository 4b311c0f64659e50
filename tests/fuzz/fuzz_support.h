#pragma once
// Threading contract: single-threaded, as libFuzzer calls its targets.
//
// What the fuzz targets share: a check that aborts (so libFuzzer keeps the input as a crash)
// when a property the code promises does not hold, quiet protobuf logging (an invalid UTF-8
// string field logs one ERROR line per decode, which would drown the fuzzer's output), and the
// session input of the *_requests targets (session.proto).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "session.pb.h"

namespace percore::fuzz {

// At most this many calls of a session run: longer ones teach the fuzzer nothing more and
// only slow each execution down.
inline constexpr int kMaxCalls = 64;

[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);

#define FUZZ_CHECK(condition) \
  ((condition) ? void(0) : ::percore::fuzz::CheckFailed(#condition, __FILE__, __LINE__))

// Once, from LLVMFuzzerInitialize.
void SilenceProtobufLogs();

// Aborts unless `service`'s methods are exactly `methods`, in .proto order: a method added to
// the proto and not to its target fails the fuzz run at once instead of going unfuzzed.
void CheckMethods(std::string_view service, std::initializer_list<std::string_view> methods);

// false if the bytes are not a Session.
bool ParseSession(const uint8_t* data, size_t size, Session* session);

// Decodes one call's request as the server decodes a payload.
template <class Request>
bool DecodeRequest(const std::string& bytes, Request* request) {
  return request->ParseFromString(bytes);
}

}  // namespace percore::fuzz
