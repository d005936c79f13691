// LayerNorm of EG-MLA's gate (DESIGN §3.1): y = (v - μ) * rstd * gamma + beta with v = x ⊙ gate
// (or x), μ and the variance over the row in double as the CPU op. Writes y and/or the statistics
// (μ, rstd): the latent placement normalizes c ⊙ g; the up-projected one normalizes
// kv_b_proj(c) ⊙ G[τ] when it decompresses, and keeps only (μ, rstd) when it writes the cache.
#ifndef EGMLA_KERNELS_CUDA_LAYER_NORM_LAYER_NORM_H_
#define EGMLA_KERNELS_CUDA_LAYER_NORM_LAYER_NORM_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct LayerNormParams {
  const float* x = nullptr;     // [rows, x_row_stride], the first `width` of each row
  const float* gate = nullptr;  // [rows, gate_row_stride] or null: v = x ⊙ gate
  const bf16* gamma = nullptr;  // [width]; needed when y is written
  const bf16* beta = nullptr;   // [width]
  // Any of these (none: nothing is written). out_f32 may be x itself (equal strides).
  float* out_f32 = nullptr;  // [rows, out_row_stride]
  bf16* out_bf16 = nullptr;  // [rows, out_row_stride]
  float* mean = nullptr;     // [rows]
  float* rstd = nullptr;     // [rows]
  int64_t rows = 0;
  int64_t width = 0;
  int64_t x_row_stride = 0;
  int64_t gate_row_stride = 0;
  int64_t out_row_stride = 0;
  float eps = 1e-5f;
};

// One thread per row (batch-invariant).
cudaError_t LaunchLayerNorm(const LayerNormParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_LAYER_NORM_LAYER_NORM_H_
