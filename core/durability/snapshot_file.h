#pragma once
// Threading contract: a SnapshotWriter is used by one thread at a time (the shard that owns the
// data writes it in chunks between requests).
//
// A point-in-time file of log_format.h records under the snapshot magic. It is written under a
// temporary name and renamed into place only once complete and fsynced (then the directory is
// fsynced), so a crash mid-snapshot leaves the previous snapshot as it was. Records are buffered
// and written in chunks, so writing a snapshot costs few system calls.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/durability/log_file.h"
#include "core/durability/log_format.h"

namespace percore::durability {

class SnapshotWriter {
 public:
  SnapshotWriter() = default;
  ~SnapshotWriter();  // an unfinished snapshot's temporary file is removed
  SnapshotWriter(SnapshotWriter&& other) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&&) = delete;

  // Starts `dir`/`name`.tmp (replacing a leftover one); `header.first_lsn` is the cut: the
  // snapshot holds every change below it, and the log goes on from it.
  static Result<SnapshotWriter> Create(const std::string& dir, const std::string& name,
                                       FileHeader header);
  Status Add(uint32_t type, std::string_view payload);
  // Records already framed (log_format.h AppendRecord), e.g. a chunk a shard serialized.
  Status AddFramed(std::string_view records);
  // Bytes written to the file so far (all of them after Finish).
  uint64_t bytes() const { return file_.size(); }
  // Writes the rest, fsyncs, renames over `dir`/`name` and fsyncs the directory.
  Status Finish();
  uint64_t records() const { return records_; }

 private:
  Status Flush();

  std::string dir_;
  std::string final_path_;
  std::string temp_path_;
  LogFile file_;
  std::string buffer_;
  uint64_t records_ = 0;
  bool finished_ = false;
};

}  // namespace percore::durability
