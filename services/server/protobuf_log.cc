#include "services/server/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/observe/log.h"

namespace percore::server {
namespace {

std::atomic<int> max_per_second{10};
std::atomic<int64_t> window_second{0};
std::atomic<int> lines_in_window{0};
std::atomic<int64_t> dropped{0};

const char* LevelName(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return "INFO";
    case google::protobuf::LOGLEVEL_WARNING:
      return "WARNING";
    case google::protobuf::LOGLEVEL_ERROR:
      return "ERROR";
    default:
      return "FATAL";
  }
}

void RateLimitedLog(google::protobuf::LogLevel level, const char* filename, int line,
                    const std::string& message) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t window = window_second.load(std::memory_order_relaxed);
  // The first line of a new second opens its window and reports what the last one dropped
  // (racing threads may let a line or two more through: a bound, not an exact count).
  if (now != window && window_second.compare_exchange_strong(window, now)) {
    lines_in_window.store(0, std::memory_order_relaxed);
    if (int64_t n = dropped.exchange(0); n > 0) {
      observe::Log(observe::LogLevel::kWarn,
                   "percore: protobuf: %lld more log lines dropped (rate limit %d/s)\n",
                   static_cast<long long>(n), max_per_second.load(std::memory_order_relaxed));
    }
  }
  if (level < google::protobuf::LOGLEVEL_FATAL &&
      lines_in_window.fetch_add(1, std::memory_order_relaxed) >=
          max_per_second.load(std::memory_order_relaxed)) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  observe::LogLevel ours = level == google::protobuf::LOGLEVEL_INFO ? observe::LogLevel::kInfo
                           : level == google::protobuf::LOGLEVEL_WARNING
                               ? observe::LogLevel::kWarn
                               : observe::LogLevel::kError;
  observe::Log(ours, "percore: protobuf %s %s:%d] %s\n", LevelName(level), filename, line,
               message.c_str());
}

}  // namespace

void InstallProtobufLogHandler(int max_lines_per_second) {
  max_per_second.store(max_lines_per_second);
  google::protobuf::SetLogHandler(&RateLimitedLog);
}

}  // namespace percore::server
