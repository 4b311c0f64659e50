#include "core/durability/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace percore::durability {

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Result<DataDirLock> DataDirLock::Acquire(const std::string& dir) {
  std::error_code made;
  std::filesystem::create_directories(dir, made);  // with its parents (tools/run's data/<addr>)
  if (made) {
    return Status(StatusCode::kFailedPrecondition, "data directory " + dir + ": " + made.message());
  }
  const std::string path = dir + "/LOCK";
  DataDirLock lock;
  lock.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock.fd_ < 0) {
    return Status(StatusCode::kFailedPrecondition, path + ": " + std::strerror(errno));
  }
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    ssize_t n = ::pread(lock.fd_, holder, sizeof holder - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status(
        StatusCode::kFailedPrecondition,
        "data directory " + dir + " is in use by another percore-server (pid " + pid + ")");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock.fd_, 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(lock.fd_, pid.data(), pid.size(), 0);
  }
  return lock;
}

}  // namespace percore::durability
