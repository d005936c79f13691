// Multi-head attention with RoPE on full heads; the cache holds K and V: [2, n_h, head_dim].
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ops.h"
#include "model/attention.h"

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
  std::vector<float> attn(rows * width, 0.0f);  // [rows, n_h, hd]
  std::vector<float> p;
  for (const SequenceSlice& s : b.sequences) {
    float* cache = s.storage->layers[b.layer];  // rows of [2, n_h, hd]: K then V
    for (int64_t i = 0; i < s.num_new; ++i) {
      float* row = cache + s.Slot(s.num_past + i) * 2 * width;
      std::copy_n(k.data() + (s.first_row + i) * width, width, row);
      std::copy_n(v.data() + (s.first_row + i) * width, width, row + width);
    }
    p.resize(s.num_total());
    for (int64_t i = 0; i < s.num_new; ++i) {
      const int64_t r = s.first_row + i, visible = s.num_past + i + 1;  // causal
      for (int64_t h = 0; h < n_h; ++h) {
        const float* qh = q.data() + r * width + h * hd;
        for (int64_t j = 0; j < visible; ++j) {
          p[j] = ops::Dot(qh, cache + s.Slot(j) * 2 * width + h * hd, hd) * scale;
        }
        ops::SoftmaxInPlace(p.data(), visible);
        float* oh = attn.data() + r * width + h * hd;
        for (int64_t j = 0; j < visible; ++j) {
          const float* vj = cache + s.Slot(j) * 2 * width + width + h * hd;
          for (int64_t d = 0; d < hd; ++d) oh[d] += p[j] * vj[d];
        }
      }
    }
  }
  ops::Linear(attn.data(), w.o_proj, b.out, rows, width, hidden);
}

}  // namespace egmla
