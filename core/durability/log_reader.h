#pragma once
// Threading contract: a plain function; any thread (recovery runs it on the shard that owns the
// file, before the shard serves).
//
// Reads a log or snapshot file (log_format.h) and hands every intact record to a callback, in
// order. What recovery needs to decide about damage:
//   - a torn tail — the last record cut short, its checksum wrong with nothing after it, or
//     zeros to the end (a crash mid-append) — ends the scan; the caller truncates the file to
//     `valid_bytes` and appends from there;
//   - damage with intact data after it is corruption, not a crash: DATA_LOSS naming the file and
//     offset, unless `skip_corrupt` (the server's --recover-skip-corrupt), which skips to the
//     next intact record and lists the offsets skipped.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/durability/log_format.h"

namespace percore::durability {

struct LogScan {
  FileHeader header;
  bool has_header = false;        // false: the file was empty or shorter than a header
  uint64_t records = 0;           // intact records handed to the callback
  uint64_t valid_bytes = 0;       // the file's length up to the end of the last intact record
  uint64_t torn_bytes = 0;        // bytes after valid_bytes that a torn tail left
  std::vector<uint64_t> skipped;  // offsets of damaged records skipped (skip_corrupt only)
};

using RecordFn = std::function<void(Lsn lsn, uint32_t type, std::string_view payload)>;

// Scans the bytes of one file. `name` is only for messages.
Result<LogScan> ScanLogBytes(std::string_view bytes, std::string_view name, std::string_view magic,
                             bool skip_corrupt, const RecordFn& fn);
// Reads `path` and scans it. NOT_FOUND when the file does not exist.
Result<LogScan> ScanLogFile(const std::string& path, std::string_view magic, bool skip_corrupt,
                            const RecordFn& fn);

}  // namespace percore::durability
