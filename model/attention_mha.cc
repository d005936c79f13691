// Multi-head attention with RoPE on full heads; the cache holds K and V: [2, n_h, head_dim].
// The attention itself is attention_core.h's.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ops.h"
#include "model/attention.h"
#include "model/attention_core.h"

namespace egmla {

void MhaAttention(const AttentionBatch& b) {
  const ModelConfig& c = *b.config;
  const LayerWeights& w = *b.weights;
  const int64_t rows = b.num_rows, n_h = c.num_attention_heads, hd = c.head_dim;
  const int64_t width = n_h * hd, hidden = c.hidden_size;

  std::vector<float> q(rows * width), k(rows * width), v(rows * width);  // [rows, n_h, hd]
  ops::Linear(b.x, w.q_proj, q.data(), rows, hidden, width);
  ops::Linear(b.x, w.k_proj, k.data(), rows, hidden, width);
  ops::Linear(b.x, w.v_proj, v.data(), rows, hidden, width);
  for (float* t : {q.data(), k.data()}) {
    ops::ApplyRope({.x = t,
                    .positions = b.positions,
                    .rows = rows,
                    .row_stride = width,
                    .num_heads = n_h,
                    .head_stride = hd,
                    .offset = 0,
                    .rope_dim = hd,
                    .theta = static_cast<float>(c.rope_theta),
                    .interleave = c.rope_interleave});
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> attn(rows * width);  // [rows, n_h, hd]
  for (const SequenceSlice& s : b.sequences) {
    float* cache = s.storage->layers[b.layer];  // rows of [2, n_h, hd]: K then V
    for (int64_t i = 0; i < s.num_new; ++i) {
      float* row = cache + s.Slot(s.num_past + i) * 2 * width;
      std::copy_n(k.data() + (s.first_row + i) * width, width, row);
      std::copy_n(v.data() + (s.first_row + i) * width, width, row + width);
    }
    auto slot = [&s](int64_t j) { return s.Slot(j); };
    const std::vector<const float*> keys = RowPointers(cache, s.num_total(), 2 * width, 0, slot);
    const std::vector<const float*> values =
        RowPointers(cache, s.num_total(), 2 * width, width, slot);
    AttendHeads({.num_heads = n_h,
                 .num_new = s.num_new,
                 .num_past = s.num_past,
                 .q = q.data() + s.first_row * width,
                 .q_row_stride = width,
                 .q_head_stride = hd,
                 .d_a = hd,
                 .key_a = keys.data(),
                 .key_a_head_stride = hd,
                 .value = values.data(),
                 .value_head_stride = hd,
                 .d_v = hd,
                 .scale = scale,
                 .out = attn.data() + s.first_row * width,
                 .out_row_stride = width});
  }
  ops::Linear(attn.data(), w.o_proj, b.out, rows, width, hidden);
}

}  // namespace egmla
