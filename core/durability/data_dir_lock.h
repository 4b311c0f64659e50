#pragma once
// Threading contract: made and destroyed on the control thread at start and exit.
//
// Holds `dir`/LOCK with flock() for the life of the server, so a second server started on the
// same data directory is refused at start instead of interleaving its log records with ours.
// flock (not a pid file alone) is released by the kernel when the holder dies, kill -9 included,
// so a crash never leaves a stale lock behind.

#include <string>

#include "core/base/result.h"

namespace percore::durability {

class DataDirLock {
 public:
  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;

  // Creates `dir` (and its parents) if missing. FAILED_PRECONDITION naming the holder's pid
  // when it is taken.
  static Result<DataDirLock> Acquire(const std::string& dir);

 private:
  int fd_ = -1;
};

}  // namespace percore::durability
