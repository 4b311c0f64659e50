#pragma once
// Threading contract: single-threaded, as libFuzzer calls its targets.
//
// What the fuzz targets share: a check that aborts (so libFuzzer keeps the input as a crash)
// when a property the code promises does not hold, quiet protobuf logging (an invalid UTF-8
// string field logs one ERROR line per decode, which would drown the fuzzer's output), and the
// driver of the *_requests targets: a session (session.proto) of calls of one service's methods
// against one fresh shard.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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
void CheckMethods(std::string_view service, std::span<const std::string_view> methods);

// false if the bytes are not a Session.
bool ParseSession(const uint8_t* data, size_t size, Session* session);

// Decodes one call's request as the server decodes a payload.
template <class Request>
bool DecodeRequest(const std::string& bytes, Request* request) {
  return request->ParseFromString(bytes);
}

// One method of a service as a *_requests target runs it: `name` as in the .proto, and `call`,
// which decodes `request` (the call's bytes), validates it as the handler does and applies it
// to the shard, checking what the store promises.
template <class Shard>
struct Method {
  std::string_view name;
  void (*call)(Shard& shard, const std::string& request);
};

// What a target checks besides each method's own checks: after every call (state that must
// hold between calls; it may also advance time, as a processor answering) and once at the end.
template <class Shard>
struct SessionChecks {
  void (*after_call)(Shard& shard) = nullptr;
  void (*at_end)(Shard& shard) = nullptr;
};

// From LLVMFuzzerInitialize of a *_requests target: quiet logs, and the method guard
// (CheckMethods) over the very table RunSession dispatches on, so index i of `methods` is
// method i of `service`.
template <class Shard, size_t N>
void InitializeSessionTarget(std::string_view service, const Method<Shard> (&methods)[N]) {
  SilenceProtobufLogs();
  std::vector<std::string_view> names;
  for (const Method<Shard>& method : methods) names.push_back(method.name);
  CheckMethods(service, names);
}

// LLVMFuzzerTestOneInput of a *_requests target: parses `data` as a Session and runs its
// calls (at most kMaxCalls), each on methods[call.method % N], against one fresh Shard. Returns
// -1 for bytes that are not a Session, so that libFuzzer does not keep them in the corpus.
template <class Shard, size_t N>
int RunSession(const uint8_t* data, size_t size, const Method<Shard> (&methods)[N],
               SessionChecks<Shard> checks = {}) {
  Session session;
  if (!ParseSession(data, size, &session)) return -1;
  Shard shard;
  int calls = 0;
  for (const Session::Call& call : session.calls()) {
    if (++calls > kMaxCalls) break;
    methods[call.method() % N].call(shard, call.request());
    if (checks.after_call != nullptr) checks.after_call(shard);
  }
  if (checks.at_end != nullptr) checks.at_end(shard);
  return 0;
}

}  // namespace percore::fuzz
