#include "core/runtime/usable_cpus.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace percore::runtime {
namespace {

// Returns the quota in CPUs, or 0 when there is none.
double CgroupCpuQuota() {
  // cgroup v2: "max 100000" or "200000 100000"
  if (std::ifstream v2("/sys/fs/cgroup/cpu.max"); v2) {
    std::string quota;
    double period = 0;
    v2 >> quota >> period;
    if (quota != "max" && period > 0) return std::stod(quota) / period;
    return 0;
  }
  // cgroup v1
  std::ifstream quota_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  std::ifstream period_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota = -1, period = 0;
  if (quota_file && period_file && (quota_file >> quota) && (period_file >> period) && quota > 0 &&
      period > 0) {
    return quota / period;
  }
  return 0;
}

}  // namespace

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) {
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) cpus.push_back(static_cast<int>(i));
  }
  return cpus;
}

int UsableCpuCount() {
  int count = static_cast<int>(AllowedCpus().size());
  double quota = CgroupCpuQuota();
  if (quota > 0) count = std::min(count, static_cast<int>(std::ceil(quota)));
  return std::max(1, count);
}

}  // namespace percore::runtime
