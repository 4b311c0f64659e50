// The process_* families of the Prometheus client libraries (client_golang's process
// collector), read from Linux /proc at scrape time: nothing is kept between scrapes.

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "core/observe/exposition.h"

namespace percore::observe {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

void AddOne(std::vector<MetricFamily>* out, const char* name, const char* help, MetricType type,
            double value) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  f.metric.emplace_back();
  if (type == MetricType::Counter) {
    f.metric.back().counter.value = value;
  } else {
    f.metric.back().gauge.value = value;
  }
  out->push_back(std::move(f));
}

// Fields of /proc/self/stat after the command name (which may hold spaces): field 3 onwards.
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int count = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

}  // namespace

void AppendProcessFamilies(std::vector<MetricFamily>* out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::vector<std::string> stat = StatFields();
  // Field numbers as in proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24 (pages);
  // StatFields() starts at field 3.
  auto field = [&](size_t n) { return stat.size() > n - 3 ? std::stod(stat[n - 3]) : 0.0; };
  AddOne(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         MetricType::Counter, (field(14) + field(15)) / ticks);
  AddOne(out, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
         field(24) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  AddOne(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
         field(23));
  AddOne(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge, OpenFds());
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  AddOne(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
         static_cast<double>(limit.rlim_cur));
  AddOne(out, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
         BootTimeSeconds() + field(22) / ticks);
}

}  // namespace percore::observe
