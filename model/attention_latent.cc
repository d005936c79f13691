// MLA and EG-MLA attention over a cache of [c ; k_R] rows (DESIGN §3.1).
//   mla, eg_mla latent: kv_b_proj is absorbed (q̂_h = W_UK,hᵀ q_nope_h; attend over c; W_UV,h on
//     the attended latent), so only the latent is read.
//   eg_mla up_projected: the gate and LayerNorm forbid absorption; K and V of every past token are
//     recomputed from c and its token id at every call and never stored.
#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "model/attention.h"

namespace egmla {
namespace {

struct Dims {
  int64_t n_h, d_nope, d_rope, d_v, d_c, qk, kv_row, hidden;
};

Dims DimsOf(const ModelConfig& c) {
  return {c.num_attention_heads,
          c.qk_nope_head_dim,
          c.qk_rope_head_dim,
          c.v_head_dim,
          c.kv_lora_rank,
          c.qk_nope_head_dim + c.qk_rope_head_dim,
          c.qk_nope_head_dim + c.v_head_dim,
          c.hidden_size};
}

// q = q_proj(x) or q_b_proj(RMSNorm(q_a_proj(x))), RoPE on each head's last d_R.
std::vector<float> Queries(const AttentionInputs& in, const Dims& d,
                           const std::vector<int32_t>& positions) {
  const ModelConfig& c = *in.config;
  const LayerWeights& w = *in.weights;
  const int64_t n = in.num_new;
  std::vector<float> q(n * d.n_h * d.qk);  // [n, n_h, d_nope + d_R]
  if (c.q_lora_rank) {
    const int64_t r = *c.q_lora_rank;
    std::vector<float> qa(n * r);  // [n, q_lora]
    ops::Linear(in.x, w.q_a_proj, qa.data(), n, d.hidden, r);
    ops::RmsNorm(qa.data(), w.q_a_norm, qa.data(), n, r, static_cast<float>(c.rms_norm_eps));
    ops::Linear(qa.data(), w.q_b_proj, q.data(), n, r, d.n_h * d.qk);
  } else {
    ops::Linear(in.x, w.q_proj, q.data(), n, d.hidden, d.n_h * d.qk);
  }
  ops::ApplyRope({.x = q.data(),
                  .positions = positions.data(),
                  .rows = n,
                  .row_stride = d.n_h * d.qk,
                  .num_heads = d.n_h,
                  .head_stride = d.qk,
                  .offset = d.d_nope,
                  .rope_dim = d.d_rope,
                  .theta = static_cast<float>(c.rope_theta),
                  .interleave = c.rope_interleave});
  return q;
}

// Appends the new tokens' cache rows [c ; k_R] (c normed, or gated for the latent placement).
void AppendLatents(const AttentionInputs& in, const Dims& d,
                   const std::vector<int32_t>& positions) {
  const ModelConfig& c = *in.config;
  const LayerWeights& w = *in.weights;
  const int64_t n = in.num_new, row = d.d_c + d.d_rope;
  std::vector<float>& cache = *in.layer_cache;
  cache.resize((in.num_past + n) * row);
  float* rows = cache.data() + in.num_past * row;  // [n, d_c + d_R]
  ops::Linear(in.x, w.kv_a_proj, rows, n, d.hidden, row);
  ops::ApplyRope({.x = rows,
                  .positions = positions.data(),
                  .rows = n,
                  .row_stride = row,
                  .num_heads = 1,
                  .head_stride = row,
                  .offset = d.d_c,
                  .rope_dim = d.d_rope,
                  .theta = static_cast<float>(c.rope_theta),
                  .interleave = c.rope_interleave});
  if (c.is_eg_mla() && c.gate_placement == GatePlacement::kLatent) {
    std::vector<float> g(n * d.d_c);  // [n, d_c]
    in.gates->Compute(in.layer, in.token_ids.subspan(in.num_past, n), g.data());
    for (int64_t i = 0; i < n; ++i) {
      float* ci = rows + i * row;
      for (int64_t k = 0; k < d.d_c; ++k) ci[k] *= g[i * d.d_c + k];
      ops::LayerNorm(ci, w.gate_norm_weight, w.gate_norm_bias, ci, 1, d.d_c,
                     static_cast<float>(c.gate_norm_eps));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      float* ci = rows + i * row;
      ops::RmsNorm(ci, w.kv_a_norm, ci, 1, d.d_c, static_cast<float>(c.rms_norm_eps));
    }
  }
}

// Absorbed attention over the latent: reads only [c ; k_R] of past tokens.
void AbsorbedAttention(const AttentionInputs& in, const Dims& d, const std::vector<float>& q,
                       float* attn) {         // attn: [n, n_h, d_v]
  const float* kv_b = in.weights->kv_b_proj;  // [n_h, d_nope + d_v, d_c]
  const float* cache = in.layer_cache->data();
  const int64_t row = d.d_c + d.d_rope;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.qk));
  std::vector<float> q_hat(d.d_c), latent(d.d_c), p(in.num_past + in.num_new);
  for (int64_t i = 0; i < in.num_new; ++i) {
    const int64_t visible = in.num_past + i + 1;
    for (int64_t h = 0; h < d.n_h; ++h) {
      const float* q_nope = q.data() + (i * d.n_h + h) * d.qk;
      const float* q_rope = q_nope + d.d_nope;
      const float* w_uk = kv_b + h * d.kv_row * d.d_c;  // [d_nope, d_c]
      const float* w_uv = w_uk + d.d_nope * d.d_c;      // [d_v, d_c]
      std::fill(q_hat.begin(), q_hat.end(), 0.0f);
      for (int64_t a = 0; a < d.d_nope; ++a) {
        for (int64_t k = 0; k < d.d_c; ++k) q_hat[k] += q_nope[a] * w_uk[a * d.d_c + k];
      }
      for (int64_t j = 0; j < visible; ++j) {
        const float* cj = cache + j * row;
        p[j] = (ops::Dot(q_hat.data(), cj, d.d_c) + ops::Dot(q_rope, cj + d.d_c, d.d_rope)) * scale;
      }
      ops::SoftmaxInPlace(p.data(), visible);
      std::fill(latent.begin(), latent.end(), 0.0f);
      for (int64_t j = 0; j < visible; ++j) {
        const float* cj = cache + j * row;
        for (int64_t k = 0; k < d.d_c; ++k) latent[k] += p[j] * cj[k];
      }
      float* out = attn + (i * d.n_h + h) * d.d_v;
      for (int64_t v = 0; v < d.d_v; ++v) out[v] = ops::Dot(w_uv + v * d.d_c, latent.data(), d.d_c);
    }
  }
}

// EG-MLA up_projected: f_j = LN(kv_b_proj(c_j) ⊙ g(τ_j)) for every visible token, then attend.
void RecomputeAttention(const AttentionInputs& in, const Dims& d, const std::vector<float>& q,
                        float* attn) {  // attn: [n, n_h, d_v]
  const ModelConfig& c = *in.config;
  const LayerWeights& w = *in.weights;
  const int64_t total = in.num_past + in.num_new, row = d.d_c + d.d_rope;
  const int64_t gate_dim = d.n_h * d.kv_row;
  const float* cache = in.layer_cache->data();

  std::vector<float> latents(total * d.d_c);  // [total, d_c]
  for (int64_t j = 0; j < total; ++j) std::copy_n(cache + j * row, d.d_c, &latents[j * d.d_c]);
  std::vector<float> f(total * gate_dim), g(total * gate_dim);  // [total, n_h, d_nope + d_v]
  ops::Linear(latents.data(), w.kv_b_proj, f.data(), total, d.d_c, gate_dim);
  in.gates->Compute(in.layer, in.token_ids.first(total), g.data());
  for (int64_t k = 0; k < total * gate_dim; ++k) f[k] *= g[k];
  ops::LayerNorm(f.data(), w.gate_norm_weight, w.gate_norm_bias, f.data(), total, gate_dim,
                 static_cast<float>(c.gate_norm_eps));

  const float scale = 1.0f / std::sqrt(static_cast<float>(d.qk));
  std::vector<float> p(total);
  for (int64_t i = 0; i < in.num_new; ++i) {
    const int64_t visible = in.num_past + i + 1;
    for (int64_t h = 0; h < d.n_h; ++h) {
      const float* q_nope = q.data() + (i * d.n_h + h) * d.qk;
      const float* q_rope = q_nope + d.d_nope;
      for (int64_t j = 0; j < visible; ++j) {
        const float* k_nope = f.data() + j * gate_dim + h * d.kv_row;
        p[j] = (ops::Dot(q_nope, k_nope, d.d_nope) +
                ops::Dot(q_rope, cache + j * row + d.d_c, d.d_rope)) *
               scale;
      }
      ops::SoftmaxInPlace(p.data(), visible);
      float* out = attn + (i * d.n_h + h) * d.d_v;
      std::fill_n(out, d.d_v, 0.0f);
      for (int64_t j = 0; j < visible; ++j) {
        const float* v = f.data() + j * gate_dim + h * d.kv_row + d.d_nope;
        for (int64_t e = 0; e < d.d_v; ++e) out[e] += p[j] * v[e];
      }
    }
  }
}

}  // namespace

void LatentAttention(const AttentionInputs& in) {
  const ModelConfig& c = *in.config;
  const Dims d = DimsOf(c);
  const std::vector<int32_t> positions = NewPositions(in.num_past, in.num_new);
  const std::vector<float> q = Queries(in, d, positions);
  AppendLatents(in, d, positions);
  std::vector<float> attn(in.num_new * d.n_h * d.d_v);  // [n, n_h, d_v]
  if (c.is_eg_mla() && c.gate_placement == GatePlacement::kUpProjected) {
    RecomputeAttention(in, d, q, attn.data());
  } else {
    AbsorbedAttention(in, d, q, attn.data());
  }
  ops::Linear(attn.data(), in.weights->o_proj, in.out, in.num_new, d.n_h * d.d_v, d.hidden);
}

}  // namespace egmla
