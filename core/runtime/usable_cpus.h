#pragma once
// Threading contract: pure functions; call from any thread.
//
// How many CPUs this process may really use: the affinity mask (taskset, cpusets) and the cgroup
// v2/v1 CPU quota (containers), whichever is smaller. The default shard count.

#include <vector>

namespace percore::runtime {

// CPUs in this process's affinity mask, ascending.
std::vector<int> AllowedCpus();

// min(|AllowedCpus()|, ceil(cgroup quota / period)), at least 1.
int UsableCpuCount();

}  // namespace percore::runtime
