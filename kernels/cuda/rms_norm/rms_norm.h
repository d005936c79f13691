// Params of the bf16 RMSNorm kernel (DESIGN §3: y = x * rsqrt(mean(x²) + eps) * w, per row).
// Plain C++: callers need no CUDA headers. The Status API is RmsNormBf16 in
// kernels/cuda/ops_cuda.h.
#ifndef EGMLA_KERNELS_CUDA_RMS_NORM_RMS_NORM_H_
#define EGMLA_KERNELS_CUDA_RMS_NORM_RMS_NORM_H_

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct RmsNormParams {
  const bf16* x;       // [rows, x_row_stride]; the first `width` of each row are read
  const bf16* weight;  // [width]
  bf16* y;             // [rows, y_row_stride]; the first `width` of each row are written.
                       // May be x itself (in place) when the strides are equal.
  int64_t rows = 0;
  int64_t width = 0;
  int64_t x_row_stride = 0;  // elements between consecutive rows of x (>= width)
  int64_t y_row_stride = 0;  // elements between consecutive rows of y (>= width)
  float eps = 1e-6f;
};

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_RMS_NORM_RMS_NORM_H_
