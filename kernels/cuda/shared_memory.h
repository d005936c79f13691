// The one way kernels take shared memory (issue 16): the block's dynamic shared memory, sized by
// the launch's `shared_bytes`.
//
//   float* partial = egmla::cuda::SharedMemory<float>();  // [blockDim.x / 32]
//
// Under nvcc: the `extern __shared__` array (16-byte aligned). On the emulator: the block's
// buffer, exactly `shared_bytes` long (ASan sees an access past it) and filled with 0xFF bytes at
// the start of each block, so a read before any write gives NaN.
#ifndef EGMLA_KERNELS_CUDA_SHARED_MEMORY_H_
#define EGMLA_KERNELS_CUDA_SHARED_MEMORY_H_

#if defined(__CUDACC__)

namespace egmla::cuda {

template <typename T>
__device__ __forceinline__ T* SharedMemory() {
  extern __shared__ __align__(16) unsigned char egmla_dynamic_shared_memory[];
  return reinterpret_cast<T*>(egmla_dynamic_shared_memory);
}

}  // namespace egmla::cuda

#else  // the emulator

#include "kernels/cuda/emu/emu.h"

namespace egmla::cuda {

template <typename T>
inline T* SharedMemory() {
  return static_cast<T*>(emu::detail::Current().shared);
}

}  // namespace egmla::cuda

#endif  // __CUDACC__

#endif  // EGMLA_KERNELS_CUDA_SHARED_MEMORY_H_
