#include "core/durability/store_journal.h"

#include <algorithm>

#include "core/durability/log_reader.h"
#include "core/durability/snapshot_file.h"

namespace percore::durability {

void StoreJournal::Start(runtime::Shard& shard, LogFile file, FsyncPolicy policy) {
  log_ = ShardLog::Start(shard, std::move(file), 0, {.policy = policy, .shard = shard.id()});
}

void StoreJournal::EnableSnapshots(SnapshotSource* source, SnapshotPolicy policy) {
  if (!log_) return;
  snapshotter_ = ShardSnapshotter::Start(*log_->shard(), log_, source, policy);
}

Status StoreJournal::CheckWritable() const {
  if (!log_ || !log_->failing()) return Status();
  return Status(StatusCode::kUnavailable,
                log_->failure().message() + "; writes are refused until the log can be written");
}

std::optional<Lsn> StoreJournal::Log(uint32_t type, std::string_view payload) {
  if (!log_) return std::nullopt;
  Result<Lsn> lsn = log_->Append(type, payload);
  if (!lsn.ok()) return std::nullopt;
  return *lsn;
}

void StoreJournal::AfterDurable(std::optional<Lsn> lsn, ShardLog::DurableFn fn) {
  if (!log_ || !lsn) {
    fn(Status());
    return;
  }
  log_->WhenDurable(*lsn, std::move(fn));
}

void StoreJournal::AfterAllDurable(ShardLog::DurableFn fn) {
  if (!log_ || log_->next_lsn() == 0) {
    fn(Status());
    return;
  }
  log_->WhenDurable(log_->next_lsn() - 1, std::move(fn));
}

void StoreJournal::Close() {
  snapshotter_.reset();
  if (log_) log_->Close();
}

Result<uint64_t> ReplayShardFiles(const GenerationDir::ShardFiles& files, bool skip_corrupt,
                                  const ShardRecordFn& fn, std::string* report) {
  uint64_t records = 0;
  Lsn cut = 0;  // the snapshot holds every change below it; the log goes on from there
  std::vector<std::pair<std::string, std::string_view>> files_in_order;
  if (!files.snapshot.empty()) files_in_order.emplace_back(files.snapshot, kSnapshotMagic);
  for (const auto& segment : files.logs) files_in_order.emplace_back(segment.path, kLogMagic);
  for (const auto& [path, magic] : files_in_order) {
    if (magic == kLogMagic) {
      const auto& segment = *std::find_if(files.logs.begin(), files.logs.end(),
                                          [&](const auto& s) { return s.path == path; });
      // Older than the snapshot's cut: a crash came between the rename and the delete.
      if (segment.first_lsn < cut) continue;
    }
    Status applied;
    Result<LogScan> scan =
        ScanLogFile(path, magic, skip_corrupt, [&](Lsn, uint32_t type, std::string_view payload) {
          if (!applied.ok()) return;
          applied = fn(type, payload);
          ++records;
        });
    if (!scan.ok()) return scan.status();
    if (!applied.ok()) return Status(StatusCode::kDataLoss, path + ": " + applied.message());
    if (magic == kSnapshotMagic && scan->has_header) cut = scan->header.first_lsn;
    if (scan->torn_bytes > 0) {
      *report += path + ": torn tail of " + std::to_string(scan->torn_bytes) +
                 " bytes after offset " + std::to_string(scan->valid_bytes) +
                 " dropped (a write the crash interrupted; it was never acknowledged)\n";
    }
    for (uint64_t offset : scan->skipped) {
      *report += path + ": damaged record at offset " + std::to_string(offset) +
                 " skipped (--recover-skip-corrupt)\n";
    }
  }
  return records;
}

Result<GenerationDir> ReplayStore(const DurabilityConfig& config, const std::string& store,
                                  const ReplayFn& fn, std::string* report, ReplayStats* stats) {
  Result<GenerationDir> dir = GenerationDir::Open(config.data_dir + "/" + store);
  if (!dir.ok()) return dir.status();
  if (!dir->live()) return dir;
  std::vector<GenerationDir::ShardFiles> shards = dir->FilesOf(*dir->live());
  for (uint32_t shard = 0; shard < shards.size(); ++shard) {
    Result<uint64_t> records = ReplayShardFiles(
        shards[shard], config.skip_corrupt,
        [&](uint32_t type, std::string_view payload) { return fn(shard, type, payload); }, report);
    if (!records.ok()) return records.status();
    stats->records += *records;
  }
  return dir;
}

Result<std::vector<LogFile>> WriteNextGeneration(
    GenerationDir& dir, const std::vector<std::vector<SnapshotRecord>>& snapshots) {
  Result<uint64_t> next = dir.BeginNext();
  if (!next.ok()) return next.status();
  const std::string next_dir = dir.DirOf(*next);
  std::vector<LogFile> logs;
  for (uint32_t shard = 0; shard < snapshots.size(); ++shard) {
    Result<SnapshotWriter> snapshot =
        SnapshotWriter::Create(next_dir, GenerationDir::SnapshotName(shard), {{}, shard, 0});
    if (!snapshot.ok()) return snapshot.status();
    for (const auto& [type, payload] : snapshots[shard]) {
      if (Status added = snapshot->Add(type, payload); !added.ok()) return added;
    }
    if (Status finished = snapshot->Finish(); !finished.ok()) return finished;
    Result<LogFile> log =
        LogFile::Open(next_dir + "/" + GenerationDir::LogName(shard), {kLogMagic, shard, 0}, 0);
    if (!log.ok()) return log.status();
    logs.push_back(std::move(*log));
  }
  if (Status committed = dir.Commit(*next); !committed.ok()) return committed;
  return logs;
}

}  // namespace percore::durability
