// Multi-head attention with RoPE on full heads; caches K and V.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/ops.h"
#include "model/attention.h"

namespace egmla {

std::vector<int32_t> NewPositions(int64_t num_past, int64_t num_new) {
  std::vector<int32_t> positions(num_new);
  std::iota(positions.begin(), positions.end(), static_cast<int32_t>(num_past));
  return positions;
}

void MhaAttention(const AttentionInputs& in) {
  const ModelConfig& c = *in.config;
  const LayerWeights& w = *in.weights;
  const int64_t n = in.num_new, n_h = c.num_attention_heads, hd = c.head_dim;
  const int64_t width = n_h * hd, hidden = c.hidden_size;
  const int64_t total = in.num_past + n;

  std::vector<float> q(n * width), k(n * width), v(n * width);  // [n, n_h, hd]
  ops::Linear(in.x, w.q_proj, q.data(), n, hidden, width);
  ops::Linear(in.x, w.k_proj, k.data(), n, hidden, width);
  ops::Linear(in.x, w.v_proj, v.data(), n, hidden, width);
  const std::vector<int32_t> positions = NewPositions(in.num_past, n);
  for (float* t : {q.data(), k.data()}) {
    ops::ApplyRope({.x = t,
                    .positions = positions.data(),
                    .rows = n,
                    .row_stride = width,
                    .num_heads = n_h,
                    .head_stride = hd,
                    .offset = 0,
                    .rope_dim = hd,
                    .theta = static_cast<float>(c.rope_theta),
                    .interleave = c.rope_interleave});
  }

  // Append [K ; V] per token: cache row = [2, n_h, hd].
  std::vector<float>& cache = *in.layer_cache;
  cache.resize(total * 2 * width);
  for (int64_t i = 0; i < n; ++i) {
    float* row = cache.data() + (in.num_past + i) * 2 * width;
    std::copy_n(k.data() + i * width, width, row);
    std::copy_n(v.data() + i * width, width, row + width);
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> attn(n * width, 0.0f);  // [n, n_h, hd]
  std::vector<float> p(total);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t visible = in.num_past + i + 1;  // causal
    for (int64_t h = 0; h < n_h; ++h) {
      const float* qh = q.data() + i * width + h * hd;
      for (int64_t j = 0; j < visible; ++j) {
        p[j] = ops::Dot(qh, cache.data() + j * 2 * width + h * hd, hd) * scale;
      }
      ops::SoftmaxInPlace(p.data(), visible);
      float* oh = attn.data() + i * width + h * hd;
      for (int64_t j = 0; j < visible; ++j) {
        const float* vj = cache.data() + j * 2 * width + width + h * hd;
        for (int64_t d = 0; d < hd; ++d) oh[d] += p[j] * vj[d];
      }
    }
  }
  ops::Linear(attn.data(), w.o_proj, in.out, n, width, hidden);
}

}  // namespace egmla
