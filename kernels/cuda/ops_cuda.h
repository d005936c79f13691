// The CUDA fast path of kernels/ops.h (DESIGN §6): bf16 storage, fp32 accumulation, cuBLAS for
// dense GEMMs. Each op takes its params struct (a shape comment on every pointer; device memory)
// and a stream, checks the params, queues the work and returns without waiting. Errors name the
// failing call and its file:line. Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_OPS_CUDA_H_
#define EGMLA_KERNELS_CUDA_OPS_CUDA_H_

#include "absl/status/status.h"
#include "kernels/cuda/gemm/linear_bf16.h"
#include "kernels/cuda/rms_norm/rms_norm.h"
#include "kernels/cuda/runtime/blas_handle.h"
#include "kernels/cuda/runtime/stream.h"

namespace egmla::ops::cuda {

// ops::RmsNorm on bf16: y = bf16(x * rsqrt(mean(x²) + eps) * w), the mean in fp32. Batch-invariant
// (a row's result never depends on `rows`). INVALID_ARGUMENT for bad shapes, strides or null
// pointers; rows == 0 queues nothing.
absl::Status RmsNormBf16(const RmsNormParams& params, egmla::cuda::StreamHandle stream);

// ops::Linear on bf16: y = bf16(x · wᵀ) through cublasGemmEx, fp32 accumulation
// (CUBLAS_COMPUTE_32F, no reduced-precision reductions). NOT batch-invariant: cuBLAS chooses its
// kernel and split from the shape, so for the serving path (DESIGN §4) use it only where the batch
// does not change the shape. INVALID_ARGUMENT for bad shapes or null pointers; in == 0 zeroes y.
absl::Status LinearBf16(const egmla::cuda::BlasHandle& blas, const LinearBf16Params& params,
                        egmla::cuda::StreamHandle stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_OPS_CUDA_H_
