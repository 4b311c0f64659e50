#include "tests/fuzz/fuzz_support.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>

namespace percore::fuzz {

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", file, line, condition);
  std::abort();
}

void SilenceProtobufLogs() {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
        if (level == google::protobuf::LOGLEVEL_FATAL) {
          std::fprintf(stderr, "protobuf FATAL %s:%d: %s\n", file, line, message.c_str());
        }
      });
}

void CheckMethods(std::string_view service, std::span<const std::string_view> methods) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  FUZZ_CHECK(descriptor != nullptr);
  FUZZ_CHECK(static_cast<size_t>(descriptor->method_count()) == methods.size());
  int i = 0;
  for (std::string_view name : methods) {
    if (descriptor->method(i)->name() != name) {
      std::fprintf(stderr, "%.*s method %d is %s, the fuzz target expects %.*s\n",
                   static_cast<int>(service.size()), service.data(), i,
                   descriptor->method(i)->name().c_str(), static_cast<int>(name.size()),
                   name.data());
      std::abort();
    }
    ++i;
  }
}

bool ParseSession(const uint8_t* data, size_t size, Session* session) {
  return session->ParseFromArray(data, static_cast<int>(size));
}

}  // namespace percore::fuzz
