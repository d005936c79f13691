// The CPU's model name, as egmla_device_info and ModelInfo report the CPU executor's device.
#ifndef EGMLA_RUNNER_CPU_CPU_MODEL_NAME_H_
#define EGMLA_RUNNER_CPU_CPU_MODEL_NAME_H_

#include <string>

namespace egmla {

// The first "model name" of /proc/cpuinfo, or "unknown".
std::string CpuModelName();

}  // namespace egmla

#endif  // EGMLA_RUNNER_CPU_CPU_MODEL_NAME_H_
