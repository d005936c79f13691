// Reference attention over the paged cache (DESIGN §3, §6), one kernel for every attention type
// and phase: query row r at position p attends causally to positions [0, p] of its sequence — the
// chunk's own rows included, as their cache rows are written before — with one online softmax in
// fp32. Keys are [key_a (d_a) ; key_b (d_b)], scored against [q_a ; q_b]; values are d_v wide.
// Each of key_a, key_b and value is read either from the paged bf16 cache through the row's block
// table or from a contiguous bf16 workspace holding the sequence's positions 0.. in order (K and V
// decompressed for this chunk):
//   mha:             key_a = K, value = V, both paged.
//   mla prefill:     key_a = K_nope, value = V decompressed (contiguous), key_b = k_R paged.
//   mla decode:      absorbed: q_a = q̂ (d_c), key_a = value = c paged, key_b = k_R paged.
//   eg_mla up_proj.: as mla prefill, K and V recomputed with the gate (the recompute decode).
// One thread per (query row, head), a plain correct kernel: the split-KV decode kernels are the
// performance issue's. A row's result never depends on the rest of the batch.
#ifndef EGMLA_KERNELS_CUDA_ATTENTION_ATTENTION_H_
#define EGMLA_KERNELS_CUDA_ATTENTION_ATTENTION_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

// Up to this many value elements per head (d_v, or d_c when absorbed).
inline constexpr int64_t kAttentionMaxValueDim = 512;

struct KvSource {
  // Position j of the row's sequence, head h: base + row(j)*row_stride + h*head_stride + offset,
  // where row(j) is the cache slot of j (paged) or j (contiguous).
  const bf16* base = nullptr;
  int64_t row_stride = 0;
  int64_t head_stride = 0;  // 0: one vector shared by every head (MLA's k_R and latent)
  int64_t offset = 0;
  bool paged = true;
};

struct AttentionParams {
  // Query row r, head h: [q_a + r*q_a_row_stride + h*q_a_head_stride (d_a) ; the same of q_b].
  const float* q_a = nullptr;
  int64_t q_a_row_stride = 0;
  int64_t q_a_head_stride = 0;
  const float* q_b = nullptr;  // null when d_b == 0
  int64_t q_b_row_stride = 0;
  int64_t q_b_head_stride = 0;
  KvSource key_a, key_b, value;
  int64_t d_a = 0;
  int64_t d_b = 0;
  int64_t d_v = 0;  // <= kAttentionMaxValueDim
  int64_t num_heads = 0;
  float scale = 1.0f;
  // The batch rows computed: rows[j], or first_row + j when rows is null, for j < num_queries.
  const int32_t* rows = nullptr;  // [num_queries]
  int64_t first_row = 0;
  int64_t num_queries = 0;
  const int32_t* positions = nullptr;     // [batch rows]: row r sees positions [0, positions[r]]
  const int32_t* row_table = nullptr;     // [batch rows]: the block-table row of r's sequence
  const int32_t* block_tables = nullptr;  // [table rows, block_table_stride] block ids
  int64_t block_table_stride = 0;
  int64_t block_size = 0;
  // Exactly one of these; row r, head h at out + r*out_row_stride + h*out_head_stride: [d_v].
  float* out_f32 = nullptr;
  bf16* out_bf16 = nullptr;
  int64_t out_row_stride = 0;
  int64_t out_head_stride = 0;
};

cudaError_t LaunchAttention(const AttentionParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_ATTENTION_ATTENTION_H_
