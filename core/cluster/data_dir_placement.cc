#include "core/cluster/data_dir_placement.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/cluster/growth_history.h"

namespace percore::cluster {
namespace {

constexpr char kFile[] = "CLUSTER";

struct Recorded {
  std::string history;
  long long partition = -1;
  bool joining = false;  // written by a --grow-joining start: its last growth may be abandoned
};

// "history=..." and "partition=..." lines; nullopt when the file is not that shape.
std::optional<Recorded> Parse(const std::string& text) {
  Recorded recorded;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("history=", 0) == 0) recorded.history = line.substr(8);
    if (line == "joining=1") recorded.joining = true;
    if (line.rfind("partition=", 0) == 0) {
      try {
        recorded.partition = std::stoll(line.substr(10));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  if (recorded.history.empty() || recorded.partition < 0) return std::nullopt;
  return recorded;
}

// `recorded` ("P" or a growth history) is `now` or an earlier stage of it.
bool Extends(const std::string& now, const std::string& recorded) {
  if (now == recorded) return true;
  std::string error;
  std::optional<GrowthHistory> grown = ParseGrowthHistory(now, &error);
  if (!grown) return false;  // "P" differing from the record
  if (recorded.find(',') == std::string::npos) {
    return recorded == std::to_string(grown->first_partitions);
  }
  // A grown record: `now` must start with it, growth for growth.
  return now.size() > recorded.size() && now.compare(0, recorded.size(), recorded) == 0 &&
         now[recorded.size()] == ',';
}

// The history before its last growth ("P0,P1@T1,P2@T2" -> "P0,P1@T1"; "P0,P1@T1" -> "P0").
std::string WithoutLastGrowth(const std::string& history) {
  size_t comma = history.rfind(',');
  return comma == std::string::npos ? history : history.substr(0, comma);
}

Status Unavailable(const std::string& path, int error) {
  return Status(StatusCode::kUnavailable, path + ": " + std::strerror(error));
}

// Written whole or not at all: a temporary file, fsync, rename, the directory fsynced.
Status Write(const std::string& dir, const std::string& text) {
  const std::string path = dir + "/" + kFile;
  const std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable(temp, errno);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) return Unavailable(temp, saved);
  if (::rename(temp.c_str(), path.c_str()) != 0) return Unavailable(path, errno);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Unavailable(dir, errno);
  ok = ::fsync(dir_fd) == 0;
  saved = errno;
  ::close(dir_fd);
  return ok ? Status() : Unavailable(dir, saved);
}

}  // namespace

std::string PlacementHistory(const ClusterPlacement& placement) {
  if (placement.grown.empty()) return std::to_string(placement.partitions);
  return FormatGrowthHistory(
      GrowthHistory{.first_partitions = placement.initial_partitions(), .epochs = placement.grown});
}

Status CheckDataDirPlacement(const std::string& dir, const ClusterPlacement& placement,
                             bool joining) {
  const std::string path = dir + "/" + kFile;
  const std::string now = PlacementHistory(placement);
  const std::string record = "history=" + now + "\npartition=" + std::to_string(placement.self) +
                             "\n" + (joining ? "joining=1\n" : "");
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno != ENOENT) return Unavailable(path, errno);
    return Write(dir, record);  // first start
  }
  std::ifstream in(path);
  if (!in) return Unavailable(path, errno);
  std::stringstream text;
  text << in.rdbuf();
  std::optional<Recorded> recorded = Parse(text.str());
  if (!recorded) {
    return Status(StatusCode::kFailedPrecondition,
                  path + " is not a placement record (history=..., partition=...)");
  }
  const std::string started = "--partitions " + std::to_string(placement.partitions) +
                              (placement.grown.empty() ? "" : " --grown " + now);
  // A partition that joined a growth which was then abandoned (GROWING.md) joins the next one:
  // its record's last growth was never switched to, so it may be replaced.
  const bool rejoining =
      joining && recorded->joining && Extends(now, WithoutLastGrowth(recorded->history));
  if (!rejoining && !Extends(now, recorded->history)) {
    const bool grown = recorded->history.find(',') != std::string::npos;
    return Status(
        StatusCode::kFailedPrecondition,
        "--data-dir " + dir + " was written by a cluster of " +
            (grown
                 ? "placement history " + recorded->history + " (--grown " + recorded->history + ")"
                 : recorded->history + " partitions") +
            " (" + path + "); started with " + started +
            ", which does not follow from it: a cluster grows only through `tools/cluster grow`, "
            "and its members restart with the --grown history it printed" +
            (grown ? "" : " (--partitions " + recorded->history + " to start as before)"));
  }
  if (recorded->partition != static_cast<long long>(placement.self)) {
    return Status(StatusCode::kFailedPrecondition,
                  "--data-dir " + dir + " holds partition " + std::to_string(recorded->partition) +
                      "'s data (" + path + "); started as partition " +
                      std::to_string(placement.self) + ": give each partition its own directory");
  }
  if (now == recorded->history && joining == recorded->joining) return Status();
  return Write(dir, record);  // grown since: later starts must carry the longer history
}

}  // namespace percore::cluster
