// How many CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota (a
// container limited to 2 CPUs on a 64-core host has 2). The default of --cpu-threads.
#ifndef EGMLA_COMMON_CPU_COUNT_H_
#define EGMLA_COMMON_CPU_COUNT_H_

#include <optional>
#include <string_view>

namespace egmla {

// At least 1.
int UsableCpuCount();

// The CPUs a cgroup v2 `cpu.max` line ("QUOTA PERIOD", or "max PERIOD") allows, rounded up;
// nullopt for "max" or a malformed line.
std::optional<int> CpusFromCgroupMax(std::string_view cpu_max);

}  // namespace egmla

#endif  // EGMLA_COMMON_CPU_COUNT_H_
