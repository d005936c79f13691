// EG-MLA decode grouped by token id on the GPU (EGMLA_DECODE.md §2 and §4; issue 18), for
// eg_mla with the up-projected gate. With a_h = q_nope,h ⊙ γ_K,h and s_h = Σ a_h, the score of
// head h on past token j (id τ_j) and the output are
//   score_hj = scale · (rstd_j · (q̃_{h,τ_j} · c_j − μ_j s_h) + q_R,h · k_R,j),
//   q̃_{h,τ} = W_UK,hᵀ (a_h ⊙ G_K[τ,h]),
//   o_h = γ_V,h ⊙ (Σ_τ G_V[τ,h] ⊙ W_UV,h C_{h,τ} − Σ_j w_hj μ_j) / Σ_j p_hj + β_V,h,
//   C_{h,τ} = Σ_{j: τ_j = τ} w_hj c_j,   w_hj = p_hj · rstd_j,
// where (μ_j, rstd_j) are the token's LayerNorm statistics, kept in the cache. Each latent row is
// read once per step; the absorbed query and W_UV are applied once per distinct id, not per token.
//
// The plan (host, once per step for every layer): each decode row's visible positions in id
// order (ids in first-seen order, positions ascending within an id) as `segments` of one id, cut
// into splits of kEgMlaSplitTokens tokens in that order (an id may be cut). One CTA per split:
// pass 1 computes q̃ per id and the scores, pass 2 the weights against the split's maximum and
// per id C, then G_V ⊙ W_UV C into the split's accumulator. The combine kernel folds a row's
// splits in order with their log-sum-exp scales and applies the LayerNorm's affine part. The
// splits depend on the row's own tokens only, so its result does not depend on the batch.
#ifndef EGMLA_KERNELS_CUDA_EGMLA_DECODE_EGMLA_DECODE_H_
#define EGMLA_KERNELS_CUDA_EGMLA_DECODE_EGMLA_DECODE_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

inline constexpr int64_t kEgMlaSplitTokens = 256;

struct EgMlaDecodeParams {
  int64_t num_heads = 0, d_nope = 0, d_rope = 0, d_v = 0, d_c = 0;
  float scale = 1.0f;
  // Query row r, head h: [q_nope (d_nope) ; q_rope (d_rope)] at q + r*q_row_stride + h*(qk).
  const float* q = nullptr;
  int64_t q_row_stride = 0;
  // The paged cache of this layer and its statistics, through the row's block table.
  const bf16* cache = nullptr;            // [slots, d_c + d_rope]: [c ; k_R]
  const float* ln_stats = nullptr;        // [slots, 2]: (μ, rstd)
  const int32_t* row_table = nullptr;     // [batch rows]
  const int32_t* block_tables = nullptr;  // [table rows, block_table_stride]
  int64_t block_table_stride = 0;
  int64_t block_size = 0;
  // The layer's weights: kv_b_proj [n_h, d_nope + d_v, d_c]; γ, β [n_h * (d_nope + d_v)].
  const bf16* kv_b_proj = nullptr;
  const bf16* gamma = nullptr;
  const bf16* beta = nullptr;
  // Gate rows [*, n_h * (d_nope + d_v)]: the layer's table (row = token id) or the step's rows
  // computed on the fly (row = the id's slot in the step's union of ids).
  const bf16* gate_rows = nullptr;
  // The plan.
  const int32_t* tokens = nullptr;    // [plan tokens]: positions, each row's in id order
  const int32_t* segments = nullptr;  // [segments, 3]: (gate row, first token, tokens) of one id
  const int32_t* splits = nullptr;    // [num_splits, 4]: (row, first token, end token, segment)
  int64_t num_splits = 0;
  // Per split and head: (max score, Σ e^(s-max), Σ e^(s-max)·rstd·μ), and Σ_τ G_V ⊙ W_UV C.
  float* partial_stats = nullptr;  // [num_splits, num_heads, 3]
  float* partial_acc = nullptr;    // [num_splits, num_heads, d_v]
};

struct EgMlaCombineParams {
  int64_t num_heads = 0, d_nope = 0, d_v = 0;
  const float* partial_stats = nullptr;  // as EgMlaDecodeParams, indexed from work_base
  const float* partial_acc = nullptr;
  const bf16* gamma = nullptr;  // [n_h * (d_nope + d_v)]
  const bf16* beta = nullptr;
  // Row j: batch row rows[3j], its splits rows[3j+1] .. + rows[3j+2] (minus work_base).
  const int32_t* rows = nullptr;  // [num_rows, 3]
  int64_t num_rows = 0;
  int64_t work_base = 0;
  bf16* out = nullptr;  // row r, head h at out + r*out_row_stride + h*d_v: [d_v]
  int64_t out_row_stride = 0;
};

// Shared memory a split's CTA needs; it must be at most 48 KiB (EgMlaDecodeFits).
int64_t EgMlaDecodeSharedBytes(int64_t num_heads, int64_t d_nope, int64_t d_rope, int64_t d_v,
                               int64_t d_c);
bool EgMlaDecodeFits(int64_t num_heads, int64_t d_nope, int64_t d_rope, int64_t d_v, int64_t d_c);

cudaError_t LaunchEgMlaDecode(const EgMlaDecodeParams& params, cudaStream_t stream);
cudaError_t LaunchEgMlaCombine(const EgMlaCombineParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_EGMLA_DECODE_EGMLA_DECODE_H_
