// Split-KV decode attention over the paged cache (issue 18; FlashDecoding, FlashMLA's split and
// combine): the keys a query row sees are cut into splits of kDecodeSplitTokens positions; one
// CTA per (row, split) computes every head's online softmax over its split, loading each cached
// token once into shared memory for all heads (MLA's latent is one vector shared by the heads,
// MHA's K and V row holds every head), and writes a partial output with its (max, sum); the
// combine kernel folds a row's splits with their log-sum-exp scales, in split order.
//
// Batch invariance (DESIGN §4): the splits are fixed position ranges, never sized from the batch,
// and the combine folds them in order, so a row's result depends on its own context only.
//
// Layouts as attention.h's KvSource: mha key_a = K, value = V (per head, paged); mla absorbed
// key_a = value = c, key_b = k_R (shared, paged), with q_a = q̂ (d_c) and q_b = q_rope.
#ifndef EGMLA_KERNELS_CUDA_DECODE_ATTENTION_DECODE_ATTENTION_H_
#define EGMLA_KERNELS_CUDA_DECODE_ATTENTION_DECODE_ATTENTION_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/attention/attention.h"
#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

// Positions per split: a row at position p has ceil((p + 1) / kDecodeSplitTokens) splits.
inline constexpr int64_t kDecodeSplitTokens = 256;

// Each lane of a warp holds ceil(width / 32) elements of a head's query and accumulator, for each
// head its warp serves: these bound what one launch takes (DecodeAttentionFits).
inline constexpr int64_t kDecodeMaxQueryPerLane = 96;
inline constexpr int64_t kDecodeMaxAccumulatorPerLane = 64;
inline constexpr int64_t kDecodeMaxHeadsPerWarp = 16;

struct DecodeAttentionParams {
  // Query row r, head h: [q_a + r*q_a_row_stride + h*q_a_head_stride (d_a) ; the same of q_b].
  const float* q_a = nullptr;
  int64_t q_a_row_stride = 0;
  int64_t q_a_head_stride = 0;
  const float* q_b = nullptr;  // null when d_b == 0
  int64_t q_b_row_stride = 0;
  int64_t q_b_head_stride = 0;
  KvSource key_a, key_b, value;  // all paged
  int64_t d_a = 0;
  int64_t d_b = 0;
  int64_t d_v = 0;
  int64_t num_heads = 0;
  float scale = 1.0f;
  const int32_t* row_table = nullptr;     // [batch rows]: the block-table row of r's sequence
  const int32_t* block_tables = nullptr;  // [table rows, block_table_stride]
  int64_t block_table_stride = 0;
  int64_t block_size = 0;
  // The plan: work item i is batch row work[3i] over positions [work[3i+1], work[3i+2]).
  const int32_t* work = nullptr;  // [num_work, 3]
  int64_t num_work = 0;
  float* partial_out = nullptr;  // [num_work, num_heads, d_v]
  float* partial_ml = nullptr;   // [num_work, num_heads, 2]: the split's (max score, Σ e^(s-max))
};

struct DecodeCombineParams {
  const float* partial_out = nullptr;  // [work items, num_heads, d_v], as DecodeAttentionParams
  const float* partial_ml = nullptr;   // [work items, num_heads, 2]
  // Row j is batch row rows[3j], its splits the work items rows[3j+1] .. + rows[3j+2], indexed
  // from work_base (the first item of this launch's partial arrays).
  const int32_t* rows = nullptr;  // [num_rows, 3]
  int64_t num_rows = 0;
  int64_t work_base = 0;
  int64_t num_heads = 0;
  int64_t d_v = 0;
  // Exactly one of these; row r, head h at out + r*out_row_stride + h*out_head_stride: [d_v].
  float* out_f32 = nullptr;
  bf16* out_bf16 = nullptr;
  int64_t out_row_stride = 0;
  int64_t out_head_stride = 0;
};

// Whether a launch of these shapes fits the kernel's per-lane registers and shared memory.
bool DecodeAttentionFits(int64_t num_heads, int64_t d_a, int64_t d_b, int64_t d_v);

cudaError_t LaunchDecodeAttention(const DecodeAttentionParams& params, cudaStream_t stream);
cudaError_t LaunchDecodeCombine(const DecodeCombineParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_DECODE_ATTENTION_DECODE_ATTENTION_H_
