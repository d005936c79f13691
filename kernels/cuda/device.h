// The CUDA device as the rest of the server sees it. Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_DEVICE_H_
#define EGMLA_KERNELS_CUDA_DEVICE_H_

#include <string>

namespace egmla::cuda {

struct DeviceCount {
  int count = 0;       // usable CUDA devices; 0 when none or no driver
  std::string reason;  // why there are none, e.g. the runtime's "no CUDA-capable device"
};

// Asks the CUDA runtime; never fails hard, so CPU-only machines can ask too.
DeviceCount CountDevices();

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_DEVICE_H_
