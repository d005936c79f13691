// The dense projection of the CUDA runner (DESIGN §3, §4): y = x · wᵀ, bf16 in, fp32
// accumulation, fp32 or bf16 out. Our own fixed-order GEMM rather than cuBLAS: every output
// element is the sum over k in ascending order, whatever the number of rows, so a row's result
// is bitwise independent of the batch (cuBLAS picks its kernel and split-K from the shape). Plain
// FMA loops, a correct baseline; the tensor-core GEMM is the performance issue's work.
#ifndef EGMLA_KERNELS_CUDA_LINEAR_LINEAR_H_
#define EGMLA_KERNELS_CUDA_LINEAR_LINEAR_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct LinearParams {
  const bf16* x = nullptr;  // [rows, x_row_stride], the first `in` of each row
  const bf16* w = nullptr;  // [out, in]
  // Exactly one of these.
  float* y_f32 = nullptr;  // [rows, y_row_stride]
  bf16* y_bf16 = nullptr;  // [rows, y_row_stride]
  int64_t rows = 0;
  int64_t in = 0;
  int64_t out = 0;
  int64_t x_row_stride = 0;
  int64_t y_row_stride = 0;
};

// One thread per row and kOutputsPerThread consecutive outputs.
cudaError_t LaunchLinear(const LinearParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_LINEAR_LINEAR_H_
