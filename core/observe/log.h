#pragma once
// Threading contract: Log() from any thread, shards included: it takes no lock (stdio's stream
// lock included) and writes each line with one write(2) to stderr, so lines from different
// threads never interleave (a pipe write of up to PIPE_BUF bytes, 4 KiB, is atomic, as is a
// write to a file opened for appending). SetLogFormat()/SetLogLevel() once in main() before any
// thread logs; SetLogShard() on each shard thread when it starts.
//
// percore's log lines. `--log-format text` (the default) writes the message as it always was;
// `--log-format json` writes one JSON object per line: {"ts": RFC 3339 UTC with µs, "level",
// "shard" (null off the shards), "msg", and "trace_id"/"span_id" when the code runs under a
// call's trace context (trace_context.h)}. Messages below `--log-level` are not written.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace percore::observe {

enum class LogFormat { kText, kJson };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

std::optional<LogFormat> ParseLogFormat(std::string_view name);  // "text", "json"
std::optional<LogLevel> ParseLogLevel(std::string_view name);    // "debug" ... "error"
std::string_view LogLevelName(LogLevel level);

void SetLogFormat(LogFormat format);
void SetLogLevel(LogLevel level);
// The shard this thread is (its log lines say so); -1: not a shard.
void SetLogShard(int shard);

// Messages up to this size are formatted on the stack; longer ones in a string.
inline constexpr size_t kStackMessage = 2048;

// One log line of printf-style `format` (no trailing newline needed: one is added).
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));
// The line Log() would write for `message` (tests; the writer's own formatting).
std::string FormatLogLine(LogLevel level, std::string_view message);

}  // namespace percore::observe
