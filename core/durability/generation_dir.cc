#include "core/durability/generation_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "core/durability/log_file.h"

namespace percore::durability {
namespace {

namespace fs = std::filesystem;

std::string GenerationName(uint64_t generation) {
  char name[32];
  std::snprintf(name, sizeof name, "gen-%08llu", static_cast<unsigned long long>(generation));
  return name;
}

std::optional<uint64_t> ParseGeneration(const std::string& name) {
  if (name.rfind("gen-", 0) != 0 || name.size() <= 4) return std::nullopt;
  uint64_t value = 0;
  for (char c : name.substr(4)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// "shard-<i>.<suffix>" -> i
std::optional<uint32_t> ShardOfFile(const std::string& name, const std::string& suffix) {
  if (name.rfind("shard-", 0) != 0 || name.size() <= 6 + suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  std::string digits = name.substr(6, name.size() - 6 - suffix.size());
  if (digits.empty() || digits.size() > 6) return std::nullopt;
  uint32_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value;
}

// "shard-<i>.log" -> (i, 0); "shard-<i>.<lsn>.log" -> (i, lsn)
std::optional<std::pair<uint32_t, uint64_t>> SegmentOfFile(const std::string& name) {
  if (std::optional<uint32_t> first = ShardOfFile(name, ".log"))
    return std::pair{*first, uint64_t{0}};
  const std::string suffix = ".log";
  if (name.rfind("shard-", 0) != 0 || name.size() <= 6 + suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  std::string middle = name.substr(6, name.size() - 6 - suffix.size());  // "<i>.<lsn>"
  size_t dot = middle.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 6 || dot + 1 >= middle.size() ||
      middle.size() - dot - 1 > 20) {
    return std::nullopt;
  }
  uint32_t shard = 0;
  uint64_t lsn = 0;
  for (char c : middle.substr(0, dot)) {
    if (c < '0' || c > '9') return std::nullopt;
    shard = shard * 10 + static_cast<uint32_t>(c - '0');
  }
  for (char c : middle.substr(dot + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    lsn = lsn * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::pair{shard, lsn};
}

Status IoError(const std::string& what, const std::error_code& error) {
  return Status(StatusCode::kUnavailable, what + ": " + error.message());
}

}  // namespace

Result<GenerationDir> GenerationDir::Open(const std::string& root) {
  std::error_code error;
  fs::create_directories(root, error);
  if (error) return IoError(root, error);
  GenerationDir dir;
  dir.root_ = root;
  std::ifstream current(root + "/CURRENT");
  std::string name;
  if (current && std::getline(current, name)) {
    std::optional<uint64_t> generation = ParseGeneration(name);
    if (!generation || !fs::is_directory(dir.DirOf(*generation))) {
      return Status(StatusCode::kDataLoss, root + "/CURRENT names \"" + name +
                                               "\", which is not a generation directory here");
    }
    dir.live_ = generation;
  }
  return dir;
}

std::string GenerationDir::DirOf(uint64_t generation) const {
  return root_ + "/" + GenerationName(generation);
}

std::string GenerationDir::SnapshotName(uint32_t shard) {
  return "shard-" + std::to_string(shard) + ".snap";
}
std::string GenerationDir::LogName(uint32_t shard) {
  return "shard-" + std::to_string(shard) + ".log";
}

std::string GenerationDir::SegmentName(uint32_t shard, uint64_t first_lsn) {
  if (first_lsn == 0) return LogName(shard);
  return "shard-" + std::to_string(shard) + "." + std::to_string(first_lsn) + ".log";
}

std::vector<GenerationDir::ShardFiles> GenerationDir::FilesOf(uint64_t generation) const {
  std::vector<ShardFiles> files;
  std::error_code error;
  auto slot = [&](uint32_t shard) -> ShardFiles& {
    if (files.size() <= shard) files.resize(shard + 1);
    return files[shard];
  };
  for (const fs::directory_entry& entry : fs::directory_iterator(DirOf(generation), error)) {
    const std::string name = entry.path().filename().string();
    if (std::optional<uint32_t> snap = ShardOfFile(name, ".snap")) {
      slot(*snap).snapshot = entry.path().string();
    } else if (std::optional<std::pair<uint32_t, uint64_t>> segment = SegmentOfFile(name)) {
      slot(segment->first).logs.push_back({segment->second, entry.path().string()});
    }
    // Anything else: temporaries of an unfinished snapshot, strays.
  }
  for (ShardFiles& shard : files) {
    std::sort(shard.logs.begin(), shard.logs.end(),
              [](const Segment& a, const Segment& b) { return a.first_lsn < b.first_lsn; });
  }
  return files;
}

Result<uint64_t> GenerationDir::BeginNext() {
  const uint64_t next = live_ ? *live_ + 1 : 1;
  std::error_code error;
  fs::remove_all(DirOf(next), error);
  if (error) return IoError(DirOf(next), error);
  fs::create_directory(DirOf(next), error);
  if (error) return IoError(DirOf(next), error);
  return next;
}

Status GenerationDir::Commit(uint64_t generation) {
  if (Status synced = SyncDirectory(DirOf(generation)); !synced.ok()) return synced;
  const std::string temp = root_ + "/CURRENT.tmp";
  {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status(StatusCode::kUnavailable, temp + ": " + std::strerror(errno));
    std::string line = GenerationName(generation) + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    int saved = errno;
    ::close(fd);
    if (!ok) return Status(StatusCode::kUnavailable, temp + ": " + std::strerror(saved));
  }
  if (::rename(temp.c_str(), (root_ + "/CURRENT").c_str()) != 0) {
    return Status(StatusCode::kUnavailable, root_ + "/CURRENT: " + std::strerror(errno));
  }
  if (Status synced = SyncDirectory(root_); !synced.ok()) return synced;
  live_ = generation;
  // The older generations are no longer needed (nor is a newer, unfinished one).
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(root_, error)) {
    std::optional<uint64_t> other = ParseGeneration(entry.path().filename().string());
    if (other && *other != generation) fs::remove_all(entry.path(), error);
  }
  return Status();
}

}  // namespace percore::durability
