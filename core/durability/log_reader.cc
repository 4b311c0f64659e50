#include "core/durability/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace percore::durability {
namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

// The offset of the next intact record after a damaged one at `from`, or npos.
size_t Resync(std::string_view bytes, size_t from) {
  RecordView record;
  for (size_t at = from + 1; at + kRecordHeaderBytes <= bytes.size(); ++at) {
    if (ParseRecord(bytes.substr(at), record) == FrameResult::kOk) return at;
  }
  return std::string_view::npos;
}

}  // namespace

Result<LogScan> ScanLogBytes(std::string_view bytes, std::string_view name, std::string_view magic,
                             bool skip_corrupt, const RecordFn& fn) {
  LogScan scan;
  if (bytes.size() < kFileHeaderBytes) {
    scan.torn_bytes = bytes.size();  // a crash while the file was being created
    return scan;
  }
  if (!ParseFileHeader(bytes, magic, scan.header)) {
    return Status(StatusCode::kDataLoss, std::string(name) + ": not a " + std::string(magic) +
                                             " file (bad header at offset 0)");
  }
  scan.has_header = true;
  size_t at = kFileHeaderBytes;
  scan.valid_bytes = at;
  Lsn lsn = scan.header.first_lsn;
  while (at < bytes.size()) {
    RecordView record;
    std::string_view rest = bytes.substr(at);
    if (ParseRecord(rest, record) == FrameResult::kOk) {
      fn(lsn++, record.type, record.payload);
      ++scan.records;
      at += kRecordHeaderBytes + record.payload.size();
      scan.valid_bytes = at;
      continue;
    }
    // A record cut short, zeros to the end, or a bad record with nothing intact after it: the
    // tail of an append a crash interrupted.
    // A length damaged into "longer than the file" with intact records after it is corruption.
    size_t next = AllZero(rest) ? std::string_view::npos : Resync(bytes, at);
    if (next == std::string_view::npos) {
      scan.torn_bytes = rest.size();
      return scan;
    }
    if (!skip_corrupt) {
      return Status(StatusCode::kDataLoss,
                    std::string(name) + ": damaged record at offset " + std::to_string(at) +
                        " with intact records after it (start with --recover-skip-corrupt to "
                        "skip it)");
    }
    scan.skipped.push_back(at);
    at = next;
    scan.valid_bytes = at;
  }
  return scan;
}

Result<LogScan> ScanLogFile(const std::string& path, std::string_view magic, bool skip_corrupt,
                            const RecordFn& fn) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  path + ": " + std::strerror(errno));
  }
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error(StatusCode::kUnavailable, path + ": " + std::strerror(errno));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return ScanLogBytes(bytes, path, magic, skip_corrupt, fn);
}

}  // namespace percore::durability
