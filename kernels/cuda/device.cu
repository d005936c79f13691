#include <cuda_runtime.h>

#include "kernels/cuda/device.h"

namespace egmla::cuda {

DeviceCount CountDevices() {
  DeviceCount result;
  const cudaError_t err = cudaGetDeviceCount(&result.count);
  if (err != cudaSuccess) {
    result.count = 0;
    result.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
  } else if (result.count == 0) {
    result.reason = "the CUDA runtime reports no devices";
  }
  return result;
}

}  // namespace egmla::cuda
