// A per-head matrix-vector product, the two small products of absorbed MLA decode (DESIGN §3.1):
//   out[r, h, i] = Σ_k x[r, h, k] · w[h*w_head_stride + i*w_out_stride + k*w_in_stride]
// q̂_h = W_UK,hᵀ q_nope,h (i over d_c, k over d_nope) and o_h = W_UV,h ĉ_h (i over d_v, k over d_c),
// both read from kv_b_proj [n_h, d_nope + d_v, d_c] through the strides. fp32 accumulation in
// ascending k, so a row's result does not depend on the batch.
#ifndef EGMLA_KERNELS_CUDA_HEAD_MATVEC_HEAD_MATVEC_H_
#define EGMLA_KERNELS_CUDA_HEAD_MATVEC_HEAD_MATVEC_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct HeadMatvecParams {
  const float* x = nullptr;  // row r, head h at x + r*x_row_stride + h*x_head_stride: [in]
  int64_t x_row_stride = 0;
  int64_t x_head_stride = 0;
  const bf16* w = nullptr;  // per head, [out, in] through the strides below
  int64_t w_head_stride = 0;
  int64_t w_out_stride = 0;
  int64_t w_in_stride = 0;
  // Exactly one of these; row r, head h at out + r*out_row_stride + h*out_head_stride: [out].
  float* out_f32 = nullptr;
  bf16* out_bf16 = nullptr;
  int64_t out_row_stride = 0;
  int64_t out_head_stride = 0;
  // The batch rows to compute: rows[j] for j < num_rows.
  const int32_t* rows = nullptr;  // [num_rows]
  int64_t num_rows = 0;
  int64_t num_heads = 0;
  int64_t in = 0;
  int64_t out = 0;
};

// One thread per (row, head, output).
cudaError_t LaunchHeadMatvec(const HeadMatvecParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_HEAD_MATVEC_HEAD_MATVEC_H_
