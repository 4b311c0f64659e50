#include "core/observe/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>

#include "core/observe/json_text.h"
#include "core/observe/trace_context.h"

namespace percore::observe {
namespace {

// Relaxed atomics: set once before the threads start, read on every line.
std::atomic<LogFormat> log_format{LogFormat::kText};
std::atomic<LogLevel> log_level{LogLevel::kInfo};
thread_local int log_shard = -1;

void WriteAll(std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone: nothing better to do with a log line
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void SetLogFormat(LogFormat format) { log_format.store(format, std::memory_order_relaxed); }
void SetLogLevel(LogLevel level) { log_level.store(level, std::memory_order_relaxed); }
void SetLogShard(int shard) { log_shard = shard; }

std::string FormatLogLine(LogLevel level, std::string_view message) {
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  std::string line;
  if (log_format.load(std::memory_order_relaxed) == LogFormat::kText) {
    line.reserve(message.size() + 1);
    line.append(message);
    line.push_back('\n');
    return line;
  }
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  line.reserve(message.size() + 160);
  line.append("{\"ts\":\"").append(Rfc3339Micros(now)).append("\",\"level\":\"");
  line.append(LogLevelName(level)).append("\",\"shard\":");
  line.append(log_shard < 0 ? "null" : std::to_string(log_shard));
  line.append(",\"msg\":");
  AppendJsonString(message, &line);
  const TraceContext& trace = CurrentTrace();
  if (trace.valid()) {
    line.append(",\"trace_id\":\"");
    trace_internal::AppendHex(trace.trace_hi, 16, &line);
    trace_internal::AppendHex(trace.trace_lo, 16, &line);
    line.append("\",\"span_id\":\"");
    trace_internal::AppendHex(trace.span_id, 16, &line);
    line.push_back('"');
  }
  line.append("}\n");
  return line;
}

void Log(LogLevel level, const char* format, ...) {
  if (level < log_level.load(std::memory_order_relaxed)) return;
  char message[kStackMessage];
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  if (n < 0) {
    va_end(again);
    return;
  }
  if (static_cast<size_t>(n) < sizeof message) {
    va_end(again);
    WriteAll(FormatLogLine(level, std::string_view(message, static_cast<size_t>(n))));
    return;
  }
  // A long message (a recovery report): formatted again at its size.
  std::string long_message(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(long_message.data(), long_message.size(), format, again);
  va_end(again);
  long_message.resize(static_cast<size_t>(n));
  WriteAll(FormatLogLine(level, long_message));
}

}  // namespace percore::observe
