#pragma once
// Threading contract: used on the control thread during start-up (recovery), before the shards
// serve.
//
// One store's files (a service's tables): `root`/CURRENT names the live generation
// ("gen-00000007"), a directory holding per shard a snapshot `shard-<i>.snap` and its log, in
// segments: `shard-<i>.log` (from LSN 0) and `shard-<i>.<first LSN>.log` (one per snapshot taken
// while serving, shard_snapshotter.h: the snapshot's header names its cut, the segment that
// starts there and those after it are the log since; older segments are deleted once the
// snapshot is renamed into place, and ignored if a crash left them). Recovery reads the live
// generation, writes the next one (a snapshot per shard of the recovered rows, placed by key for
// today's shard count, and empty logs), and only then switches CURRENT (written to a temporary
// name, fsynced, renamed, directory fsynced). A crash at any point leaves either the old generation
// live, complete, or the new one: never a mix. So a different --shards than last time is just a
// different placement in the next generation.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace percore::durability {

class GenerationDir {
 public:
  // Creates `root` if missing.
  static Result<GenerationDir> Open(const std::string& root);

  // The live generation's number and directory, if there is one.
  std::optional<uint64_t> live() const { return live_; }
  std::string DirOf(uint64_t generation) const;
  // The shard files the generation has (any shard count), by shard index; missing ones empty.
  struct Segment {
    uint64_t first_lsn = 0;
    std::string path;
  };
  struct ShardFiles {
    std::string snapshot;       // "" if none
    std::vector<Segment> logs;  // by first LSN
  };
  std::vector<ShardFiles> FilesOf(uint64_t generation) const;
  static std::string SnapshotName(uint32_t shard);
  static std::string LogName(uint32_t shard);  // the first segment (LSN 0)
  // The segment that starts at `first_lsn` ("shard-<i>.log" for 0).
  static std::string SegmentName(uint32_t shard, uint64_t first_lsn);

  // Creates the directory of the next generation (removing a leftover one), to be filled.
  Result<uint64_t> BeginNext();
  // Makes `generation` live (after its files are complete and fsynced) and removes every other.
  Status Commit(uint64_t generation);

 private:
  std::string root_;
  std::optional<uint64_t> live_;
};

}  // namespace percore::durability
