// RMSNorm with the residual add fused in front (DESIGN §3): x += delta; out = x * rsqrt(mean(x²)
// + eps) * weight, per row, in fp32 (the sum of squares in double, as the CPU op). Also the plain
// norm (no delta) of the q_a and kv_a latents, and the final norm of the rows that become logits
// (row_index).
#ifndef EGMLA_KERNELS_CUDA_ADD_RMS_NORM_ADD_RMS_NORM_H_
#define EGMLA_KERNELS_CUDA_ADD_RMS_NORM_ADD_RMS_NORM_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct AddRmsNormParams {
  // Row i reads x row r = row_index[i] (or i when row_index is null): [.., x_row_stride], the
  // first `width` elements; with delta, x row r += delta row r first and is written back.
  float* x = nullptr;
  const float* delta = nullptr;        // [.., delta_row_stride] or null
  const int32_t* row_index = nullptr;  // [rows] or null
  const bf16* weight = nullptr;        // [width]
  // Either or both: the normed row i. out_f32 may be x itself (equal strides, no row_index).
  bf16* out_bf16 = nullptr;  // [rows, out_row_stride]
  float* out_f32 = nullptr;  // [rows, out_row_stride]
  int64_t rows = 0;
  int64_t width = 0;
  int64_t x_row_stride = 0;
  int64_t delta_row_stride = 0;
  int64_t out_row_stride = 0;
  float eps = 1e-6f;
};

// One thread per row: its arithmetic never depends on `rows` (batch invariance, DESIGN §4).
cudaError_t LaunchAddRmsNorm(const AddRmsNormParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_ADD_RMS_NORM_ADD_RMS_NORM_H_
