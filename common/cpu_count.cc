#include "common/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "common/regular_file.h"

namespace egmla {
namespace {

// The file's text, or nullopt when it cannot be read (no such cgroup file).
std::optional<std::string> ReadSmallFile(const char* path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  return text.ok() ? std::optional<std::string>(*std::move(text)) : std::nullopt;
}

// cgroup v1: cpu.cfs_quota_us (-1 = none) over cpu.cfs_period_us.
std::optional<int> CpusFromCgroupV1() {
  const auto quota = ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  const auto period = ReadSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  return CpusFromCgroupMax(*quota + " " + *period);
}

}  // namespace

std::optional<int> CpusFromCgroupMax(std::string_view cpu_max) {
  std::istringstream in{std::string(cpu_max)};
  double quota = 0, period = 0;
  std::string rest;
  if (!(in >> quota >> period) || (in >> rest) || quota <= 0 || period <= 0) {
    return std::nullopt;  // "max", -1, garbage
  }
  return std::max(1, static_cast<int>(std::ceil(quota / period)));
}

int UsableCpuCount() {
  int cpus = 1;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  std::optional<int> quota;
  if (auto v2 = ReadSmallFile("/sys/fs/cgroup/cpu.max")) {
    quota = CpusFromCgroupMax(*v2);
  } else {
    quota = CpusFromCgroupV1();
  }
  return quota ? std::min(cpus, *quota) : cpus;
}

}  // namespace egmla
