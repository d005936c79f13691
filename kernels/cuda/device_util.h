// Small device-side helpers shared by the model kernels (the same source for nvcc and the SIMT
// emulator): bf16 loads and stores on the params structs' raw bf16, and launch geometry.
#ifndef EGMLA_KERNELS_CUDA_DEVICE_UTIL_H_
#define EGMLA_KERNELS_CUDA_DEVICE_UTIL_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

__device__ __forceinline__ float LoadBf16(const bf16* p, int64_t i) {
  return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(p)[i]);
}
__device__ __forceinline__ void StoreBf16(bf16* p, int64_t i, float v) {
  reinterpret_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
}

// The global index of the calling thread in a 1-D launch.
__device__ __forceinline__ int64_t GlobalThreadIndex() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

inline constexpr unsigned kThreadsPerBlock = 128;

// Blocks of kThreadsPerBlock that cover `n` threads (n >= 1).
inline dim3 BlocksFor(int64_t n) {
  return dim3(static_cast<unsigned>((n + kThreadsPerBlock - 1) / kThreadsPerBlock));
}

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_DEVICE_UTIL_H_
