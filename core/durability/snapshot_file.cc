#include "core/durability/snapshot_file.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace percore::durability {
namespace {
constexpr size_t kChunkBytes = 1 << 20;
}  // namespace

SnapshotWriter::~SnapshotWriter() {
  if (!finished_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

SnapshotWriter::SnapshotWriter(SnapshotWriter&& other) noexcept
    : dir_(std::move(other.dir_)),
      final_path_(std::move(other.final_path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(std::move(other.file_)),
      buffer_(std::move(other.buffer_)),
      records_(other.records_),
      finished_(other.finished_) {
  other.finished_ = true;  // the moved-from writer must not remove our temporary file
}

Result<SnapshotWriter> SnapshotWriter::Create(const std::string& dir, const std::string& name,
                                              FileHeader header) {
  SnapshotWriter writer;
  writer.dir_ = dir;
  writer.final_path_ = dir + "/" + name;
  writer.temp_path_ = writer.final_path_ + ".tmp";
  ::unlink(writer.temp_path_.c_str());
  header.magic = kSnapshotMagic;
  Result<LogFile> file = LogFile::Open(writer.temp_path_, header, 0);
  if (!file.ok()) return file.status();
  writer.file_ = std::move(*file);
  return writer;
}

Status SnapshotWriter::Add(uint32_t type, std::string_view payload) {
  if (payload.size() > kMaxRecordBytes) {
    return Status(StatusCode::kResourceExhausted, "snapshot record over the record limit");
  }
  AppendRecord(type, payload, buffer_);
  ++records_;
  return buffer_.size() >= kChunkBytes ? Flush() : Status();
}

Status SnapshotWriter::AddFramed(std::string_view records) {
  buffer_.append(records);
  return buffer_.size() >= kChunkBytes ? Flush() : Status();
}

Status SnapshotWriter::Flush() {
  if (buffer_.empty()) return Status();
  struct iovec chunk {
    buffer_.data(), buffer_.size()
  };
  Status written = file_.Append(&chunk, 1);
  if (written.ok()) buffer_.clear();
  return written;
}

Status SnapshotWriter::Finish() {
  if (Status flushed = Flush(); !flushed.ok()) return flushed;
  if (Status synced = file_.Sync(); !synced.ok()) return synced;
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return Status(StatusCode::kUnavailable,
                  "snapshot " + final_path_ + ": rename: " + std::strerror(errno));
  }
  finished_ = true;
  return SyncDirectory(dir_);
}

}  // namespace percore::durability
