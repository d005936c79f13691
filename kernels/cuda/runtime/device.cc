#include "kernels/cuda/runtime/device.h"

#include <cuda_runtime_api.h>

#include <cstddef>

#include "absl/strings/str_format.h"
#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::cuda {

DeviceCount CountDevices() {
  DeviceCount result;
  const cudaError_t err = cudaGetDeviceCount(&result.count);
  if (err != cudaSuccess) {
    result.count = 0;
    result.reason = CudaErrorDescription(err);
  } else if (result.count == 0) {
    result.reason = "the CUDA runtime reports no devices";
  }
  return result;
}

absl::StatusOr<DeviceInfo> QueryDevice(int ordinal) {
  cudaDeviceProp prop{};
  EGMLA_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, ordinal));
  EGMLA_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
  size_t free_bytes = 0, total_bytes = 0;
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
  DeviceInfo info;
  info.ordinal = ordinal;
  info.name = prop.name;
  info.compute_capability_major = prop.major;
  info.compute_capability_minor = prop.minor;
  info.num_sms = prop.multiProcessorCount;
  info.total_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  info.free_memory_bytes = static_cast<int64_t>(free_bytes);
  info.l2_cache_bytes = prop.l2CacheSize;
  info.max_shared_memory_per_block = static_cast<int64_t>(prop.sharedMemPerBlockOptin);
  return info;
}

std::string DescribeDevice(const DeviceInfo& info) {
  return absl::StrFormat("%s (sm_%d%d, %d SMs, %.1f GiB)", info.name, info.compute_capability_major,
                         info.compute_capability_minor, info.num_sms,
                         static_cast<double>(info.total_memory_bytes) / (1 << 30));
}

absl::Status SetDevice(int ordinal) {
  EGMLA_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
  return absl::OkStatus();
}

absl::Status SynchronizeDevice() {
  EGMLA_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  return absl::OkStatus();
}

bool DeviceIsUsable() {
  // A transient error is reported once and cleared; a sticky one comes back from every call.
  (void)cudaDeviceSynchronize();
  (void)cudaGetLastError();
  return cudaDeviceSynchronize() == cudaSuccess;
}

}  // namespace egmla::cuda
