// The CUDA device as the rest of the server sees it. Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_RUNTIME_DEVICE_H_
#define EGMLA_KERNELS_CUDA_RUNTIME_DEVICE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace egmla::cuda {

struct DeviceCount {
  int count = 0;       // usable CUDA devices; 0 when none or no driver
  std::string reason;  // why there are none, e.g. "cudaErrorInsufficientDriver: CUDA driver ..."
};

// Asks the CUDA runtime; never fails hard, so CPU-only machines can ask too.
DeviceCount CountDevices();

struct DeviceInfo {
  int ordinal = 0;
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
  int num_sms = 0;                          // streaming multiprocessors
  int64_t total_memory_bytes = 0;           // global memory
  int64_t free_memory_bytes = 0;            // free when queried
  int64_t l2_cache_bytes = 0;               // L2 cache
  int64_t max_shared_memory_per_block = 0;  // bytes, opt-in limit (cudaFuncSetAttribute)
};

// Properties of device `ordinal`. Errors name the failing CUDA call (INVALID_ARGUMENT for an
// ordinal out of range, UNAVAILABLE without a device or driver). Makes `ordinal` current.
absl::StatusOr<DeviceInfo> QueryDevice(int ordinal);

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)".
std::string DescribeDevice(const DeviceInfo& info);

// Makes `ordinal` the calling thread's current device.
absl::Status SetDevice(int ordinal);

// Waits for all work on the current device.
absl::Status SynchronizeDevice();

// Whether the current device still runs work: false after a sticky error (a kernel fault leaves
// the context unusable and every later call fails), true after a transient one (which this
// clears).
bool DeviceIsUsable();

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_RUNTIME_DEVICE_H_
