// Params of the bf16 Linear (y = x · wᵀ, DESIGN §6). Plain C++: callers need no CUDA headers.
// The Status API is LinearBf16 in kernels/cuda/ops_cuda.h.
#ifndef EGMLA_KERNELS_CUDA_GEMM_LINEAR_BF16_H_
#define EGMLA_KERNELS_CUDA_GEMM_LINEAR_BF16_H_

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct LinearBf16Params {
  const bf16* x;  // [rows, in]
  const bf16* w;  // [out, in], the layout of a torch nn.Linear weight
  bf16* y;        // [rows, out]; must not overlap x or w
  int64_t rows = 0;
  int64_t in = 0;
  int64_t out = 0;
};

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_GEMM_LINEAR_BF16_H_
