#pragma once
// Threading contract: one LogFile is used by one thread at a time (the shard opens it during
// recovery, then hands it to its log's writer thread, which alone appends and syncs).
//
// An append-only file of log_format.h records: opened at a known-good length (what recovery
// scanned; anything after it — a torn tail — is cut off), appended with pwritev at that length,
// so a failed or partial write leaves the known-good length unchanged and a retry overwrites the
// partial bytes instead of leaving damage in the middle of the log.

#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "core/base/result.h"
#include "core/durability/log_format.h"

namespace percore::durability {

class LogFile {
 public:
  LogFile() = default;
  ~LogFile();
  LogFile(LogFile&& other) noexcept;
  LogFile& operator=(LogFile&& other) noexcept;

  // Opens or creates `path`. A new (or header-less) file gets `header`; an existing one is cut
  // to `valid_bytes` (from the recovery scan, >= kFileHeaderBytes).
  static Result<LogFile> Open(const std::string& path, const FileHeader& header,
                              uint64_t valid_bytes);

  // Writes every byte of the buffers at the end of the file, or none as far as size() and later
  // appends are concerned. UNAVAILABLE with the path and the error (ENOSPC, EIO, ...).
  Status Append(const struct iovec* buffers, int count);
  Status Sync();
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  Status Error(const char* what, int error) const;

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// fsyncs a directory, so a file created or renamed in it survives a power loss.
Status SyncDirectory(const std::string& dir);

}  // namespace percore::durability
