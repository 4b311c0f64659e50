#include "core/durability/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

namespace percore::durability {

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

LogFile::LogFile(LogFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

LogFile& LogFile::operator=(LogFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

Status LogFile::Error(const char* what, int error) const {
  return Status(StatusCode::kUnavailable,
                "write-ahead log " + path_ + ": " + what + ": " + std::strerror(error));
}

Result<LogFile> LogFile::Open(const std::string& path, const FileHeader& header,
                              uint64_t valid_bytes) {
  LogFile file;
  file.path_ = path;
  file.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file.fd_ < 0) return file.Error("open", errno);
  struct stat st {};
  if (::fstat(file.fd_, &st) != 0) return file.Error("stat", errno);
  if (valid_bytes < kFileHeaderBytes) {
    // New, or a crash before its header was complete: start it over.
    std::string head;
    AppendFileHeader(header, head);
    if (::ftruncate(file.fd_, 0) != 0) return file.Error("truncate", errno);
    if (::pwrite(file.fd_, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
      return file.Error("write header", errno ? errno : EIO);
    }
    if (::fdatasync(file.fd_) != 0) return file.Error("fsync", errno);
    file.size_ = head.size();
    return file;
  }
  if (static_cast<uint64_t>(st.st_size) > valid_bytes) {
    if (::ftruncate(file.fd_, static_cast<off_t>(valid_bytes)) != 0) {
      return file.Error("truncate torn tail", errno);
    }
    if (::fdatasync(file.fd_) != 0) return file.Error("fsync", errno);
  }
  file.size_ = valid_bytes;
  return file;
}

Status LogFile::Append(const struct iovec* buffers, int count) {
  // pwritev may write part of the buffers: go on from where it stopped. On an error, size_ stays
  // at the last complete append, so the next attempt overwrites the partial bytes.
  uint64_t offset = size_;
  std::vector<struct iovec> rest(buffers, buffers + count);
  size_t first = 0;
  while (first < rest.size()) {
    int n = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
    ssize_t written = ::pwritev(fd_, rest.data() + first, n, static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return Error("write", errno);
    }
    if (written == 0) return Error("write", EIO);
    offset += static_cast<uint64_t>(written);
    size_t left = static_cast<size_t>(written);
    while (first < rest.size() && left >= rest[first].iov_len) left -= rest[first++].iov_len;
    if (left > 0) {
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + left;
      rest[first].iov_len -= left;
    }
  }
  size_ = offset;
  return Status();
}

Status LogFile::Sync() {
  if (::fdatasync(fd_) != 0) return Error("fsync", errno);
  return Status();
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status(StatusCode::kUnavailable, dir + ": open: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0) return Status(StatusCode::kUnavailable, dir + ": fsync: " + std::strerror(error));
  return Status();
}

}  // namespace percore::durability
