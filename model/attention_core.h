// The CPU attention core every attention type runs (issue 13): causal softmax attention of one
// sequence's new rows over its visible keys, with all heads computed in one pass over the keys
// (each cached row is read once per step, not once per head) and SIMD dots and accumulations
// (kernels/cpu/vec.h).
//
// The keys are cut into fixed blocks of 128 positions (split-KV, as FlashDecoding): for each
// block, scores, their max m, l = Σ e^(s-m) and the e^(s-m)-weighted sum of values; the blocks
// are then folded in block order and normalized. The work is split over tiles of query rows
// (prefill) or over key blocks (decode) on the CPU pool; either way a (row, head) result is the
// same arithmetic in the same order, so it never depends on the batch or the thread count.
//
// The key of position j for head h is [key_a[j] + h*key_a_head_stride (d_a floats) ;
// key_b[j] + h*key_b_head_stride (d_b floats)], a head stride of 0 sharing one vector among all
// heads (MLA's rope key, the absorbed latent); its value is value[j] + h*value_head_stride (d_v
// floats). The score is (q_a · k_a + q_b · k_b) * scale.
#ifndef EGMLA_MODEL_ATTENTION_CORE_H_
#define EGMLA_MODEL_ATTENTION_CORE_H_

#include <cstdint>
#include <vector>

namespace egmla {

struct HeadAttentionParams {
  int64_t num_heads = 0;
  int64_t num_new = 0;       // query rows, at positions num_past .. num_past + num_new - 1
  int64_t num_past = 0;      // row i sees keys [0, num_past + i]
  const float* q = nullptr;  // row i, head h at q + i*q_row_stride + h*q_head_stride: [d_a + d_b]
  int64_t q_row_stride = 0;
  int64_t q_head_stride = 0;
  int64_t d_a = 0;
  int64_t d_b = 0;                      // 0: no second part
  const float* const* key_a = nullptr;  // [num_past + num_new] row pointers
  int64_t key_a_head_stride = 0;
  const float* const* key_b = nullptr;  // [num_past + num_new] row pointers; null when d_b == 0
  int64_t key_b_head_stride = 0;
  const float* const* value = nullptr;  // [num_past + num_new] row pointers
  int64_t value_head_stride = 0;
  int64_t d_v = 0;
  float scale = 1.0f;
  float* out = nullptr;  // row i, head h at out + i*out_row_stride + h*d_v: [d_v]
  int64_t out_row_stride = 0;
};

// Runs the attention of `p` on the CPU pool.
void AttendHeads(const HeadAttentionParams& p);

// Row pointers base + Slot(j) * row_stride + offset for j < n, through `slot` (a paged or a
// contiguous cache).
template <typename SlotFn>
std::vector<const float*> RowPointers(const float* base, int64_t n, int64_t row_stride,
                                      int64_t offset, SlotFn slot) {
  std::vector<const float*> rows(n);
  for (int64_t j = 0; j < n; ++j) rows[j] = base + slot(j) * row_stride + offset;
  return rows;
}

}  // namespace egmla

#endif  // EGMLA_MODEL_ATTENTION_CORE_H_
