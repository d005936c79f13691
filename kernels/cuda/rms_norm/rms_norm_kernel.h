// The raw launcher of rms_norm.cu, for rms_norm.cc. Not for other callers: RmsNormBf16 in
// kernels/cuda/ops_cuda.h validates the params and returns a Status.
#ifndef EGMLA_KERNELS_CUDA_RMS_NORM_RMS_NORM_KERNEL_H_
#define EGMLA_KERNELS_CUDA_RMS_NORM_RMS_NORM_KERNEL_H_

#include <cuda_runtime_api.h>

#include "kernels/cuda/rms_norm/rms_norm.h"

namespace egmla::ops::cuda {

// Queues the kernel on `stream` and returns cudaGetLastError(). `vectorized` reads and writes 8
// elements (16 bytes) at a time.
// REQUIRES: the params are valid (RmsNormBf16 checks), rows in [1, 2^31 - 1]; when vectorized,
// width and both strides are multiples of 8 and x, weight, y are 16-byte aligned.
cudaError_t LaunchRmsNormBf16(const RmsNormParams& params, bool vectorized, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_RMS_NORM_RMS_NORM_KERNEL_H_
