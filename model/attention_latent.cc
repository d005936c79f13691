// MLA and EG-MLA attention over a cache of [c ; k_R] rows (DESIGN §3.1).
//   mla, eg_mla latent: kv_b_proj is absorbed (q̂_h = W_UK,hᵀ q_nope_h; attend over c; W_UV,h on
//     the attended latent), so only the latent is read.
//   eg_mla up_projected: the gate and LayerNorm forbid absorption; K and V of every visible token
//     are recomputed from c and its token id at every call and never stored.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ops.h"
#include "model/attention.h"

namespace egmla {
namespace {

struct Dims {
  int64_t n_h, d_nope, d_rope, d_v, d_c;
  int64_t qk;   // d_nope + d_R: one head of q
  int64_t kv;   // d_nope + d_v: one head of kv_b_proj's output
  int64_t row;  // d_c + d_R: one cache row
  int64_t hidden;
};

Dims DimsOf(const ModelConfig& c) {
  return {.n_h = c.num_attention_heads,
          .d_nope = c.qk_nope_head_dim,
          .d_rope = c.qk_rope_head_dim,
          .d_v = c.v_head_dim,
          .d_c = c.kv_lora_rank,
          .qk = c.qk_nope_head_dim + c.qk_rope_head_dim,
          .kv = c.qk_nope_head_dim + c.v_head_dim,
          .row = c.kv_lora_rank + c.qk_rope_head_dim,
          .hidden = c.hidden_size};
}

bool RecomputesKv(const ModelConfig& c) {
  return c.is_eg_mla() && c.gate_placement == GatePlacement::kUpProjected;
}

// q = q_proj(x) or q_b_proj(RMSNorm(q_a_proj(x))), RoPE on each head's last d_R.
std::vector<float> Queries(const AttentionBatch& b, const Dims& d) {  // [rows, n_h, qk]
  const ModelConfig& c = *b.config;
  const LayerWeights& w = *b.weights;
  const int64_t rows = b.num_rows;
  std::vector<float> q(rows * d.n_h * d.qk);
  if (c.q_lora_rank) {
    const int64_t r = *c.q_lora_rank;
    std::vector<float> qa(rows * r);  // [rows, q_lora]
    ops::Linear(b.x, w.q_a_proj, qa.data(), rows, d.hidden, r);
    ops::RmsNorm(qa.data(), w.q_a_norm, qa.data(), rows, r, static_cast<float>(c.rms_norm_eps));
    ops::Linear(qa.data(), w.q_b_proj, q.data(), rows, r, d.n_h * d.qk);
  } else {
    ops::Linear(b.x, w.q_proj, q.data(), rows, d.hidden, d.n_h * d.qk);
  }
  ops::ApplyRope({.x = q.data(),
                  .positions = b.positions,
                  .rows = rows,
                  .row_stride = d.n_h * d.qk,
                  .num_heads = d.n_h,
                  .head_stride = d.qk,
                  .offset = d.d_nope,
                  .rope_dim = d.d_rope,
                  .theta = static_cast<float>(c.rope_theta),
                  .interleave = c.rope_interleave});
  return q;
}

// Computes the new tokens' cache rows [c ; k_R] (c normed, or gated for the latent placement)
// and writes them to their slots.
void WriteLatents(const AttentionBatch& b, const Dims& d) {
  const ModelConfig& c = *b.config;
  const LayerWeights& w = *b.weights;
  const int64_t rows = b.num_rows;
  std::vector<float> kv(rows * d.row);  // [rows, d_c + d_R]
  ops::Linear(b.x, w.kv_a_proj, kv.data(), rows, d.hidden, d.row);
  ops::ApplyRope({.x = kv.data(),
                  .positions = b.positions,
                  .rows = rows,
                  .row_stride = d.row,
                  .num_heads = 1,
                  .head_stride = d.row,
                  .offset = d.d_c,
                  .rope_dim = d.d_rope,
                  .theta = static_cast<float>(c.rope_theta),
                  .interleave = c.rope_interleave});
  if (c.is_eg_mla() && c.gate_placement == GatePlacement::kLatent) {
    std::vector<float> g(rows * d.d_c);  // [rows, d_c]
    b.gates->Compute(b.layer, std::span(b.token_ids, rows), g.data());
    for (int64_t r = 0; r < rows; ++r) {
      float* cr = kv.data() + r * d.row;
      for (int64_t k = 0; k < d.d_c; ++k) cr[k] *= g[r * d.d_c + k];
      ops::LayerNorm(cr, w.gate_norm_weight, w.gate_norm_bias, cr, 1, d.d_c,
                     static_cast<float>(c.gate_norm_eps));
    }
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      float* cr = kv.data() + r * d.row;
      ops::RmsNorm(cr, w.kv_a_norm, cr, 1, d.d_c, static_cast<float>(c.rms_norm_eps));
    }
  }
  for (const SequenceSlice& s : b.sequences) {
    float* cache = s.storage->layers[b.layer];
    for (int64_t i = 0; i < s.num_new; ++i) {
      std::copy_n(kv.data() + (s.first_row + i) * d.row, d.row,
                  cache + s.Slot(s.num_past + i) * d.row);
    }
  }
}

// Absorbed attention over the latent of one sequence: reads only [c ; k_R] of its tokens.
void AbsorbedAttention(const AttentionBatch& b, const Dims& d, const SequenceSlice& s,
                       const std::vector<float>& q,  // [rows, n_h, qk]
                       float* attn) {                // [rows, n_h, d_v]
  const float* kv_b = b.weights->kv_b_proj;          // [n_h, d_nope + d_v, d_c]
  const float* cache = s.storage->layers[b.layer];
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.qk));
  std::vector<float> q_hat(d.d_c), latent(d.d_c), p(s.num_total());
  for (int64_t i = 0; i < s.num_new; ++i) {
    const int64_t r = s.first_row + i, visible = s.num_past + i + 1;
    for (int64_t h = 0; h < d.n_h; ++h) {
      const float* q_nope = q.data() + (r * d.n_h + h) * d.qk;
      const float* q_rope = q_nope + d.d_nope;
      const float* w_uk = kv_b + h * d.kv * d.d_c;  // [d_nope, d_c]
      const float* w_uv = w_uk + d.d_nope * d.d_c;  // [d_v, d_c]
      std::fill(q_hat.begin(), q_hat.end(), 0.0f);
      for (int64_t a = 0; a < d.d_nope; ++a) {
        for (int64_t k = 0; k < d.d_c; ++k) q_hat[k] += q_nope[a] * w_uk[a * d.d_c + k];
      }
      for (int64_t j = 0; j < visible; ++j) {
        const float* cj = cache + s.Slot(j) * d.row;
        p[j] = (ops::Dot(q_hat.data(), cj, d.d_c) + ops::Dot(q_rope, cj + d.d_c, d.d_rope)) * scale;
      }
      ops::SoftmaxInPlace(p.data(), visible);
      std::fill(latent.begin(), latent.end(), 0.0f);
      for (int64_t j = 0; j < visible; ++j) {
        const float* cj = cache + s.Slot(j) * d.row;
        for (int64_t k = 0; k < d.d_c; ++k) latent[k] += p[j] * cj[k];
      }
      float* out = attn + (r * d.n_h + h) * d.d_v;
      for (int64_t v = 0; v < d.d_v; ++v) out[v] = ops::Dot(w_uv + v * d.d_c, latent.data(), d.d_c);
    }
  }
}

// EG-MLA up_projected, one sequence: f_j = LN(kv_b_proj(c_j) ⊙ g(τ_j)) for every visible token
// (recomputed, never stored), then attention as in mla.
void RecomputeAttention(const AttentionBatch& b, const Dims& d, const SequenceSlice& s,
                        const std::vector<float>& q,  // [rows, n_h, qk]
                        float* attn) {                // [rows, n_h, d_v]
  const ModelConfig& c = *b.config;
  const LayerWeights& w = *b.weights;
  const int64_t total = s.num_total(), gate_dim = d.n_h * d.kv;
  const float* cache = s.storage->layers[b.layer];

  std::vector<float> latents(total * d.d_c);  // [total, d_c]
  std::vector<int32_t> ids(total);            // [total]
  for (int64_t j = 0; j < total; ++j) {
    const int64_t slot = s.Slot(j);
    std::copy_n(cache + slot * d.row, d.d_c, &latents[j * d.d_c]);
    ids[j] = s.storage->token_ids[slot];
  }
  std::vector<float> f(total * gate_dim), g(total * gate_dim);  // [total, n_h, d_nope + d_v]
  ops::Linear(latents.data(), w.kv_b_proj, f.data(), total, d.d_c, gate_dim);
  b.gates->Compute(b.layer, ids, g.data());
  for (int64_t k = 0; k < total * gate_dim; ++k) f[k] *= g[k];
  ops::LayerNorm(f.data(), w.gate_norm_weight, w.gate_norm_bias, f.data(), total, gate_dim,
                 static_cast<float>(c.gate_norm_eps));

  const float scale = 1.0f / std::sqrt(static_cast<float>(d.qk));
  std::vector<float> p(total);
  for (int64_t i = 0; i < s.num_new; ++i) {
    const int64_t r = s.first_row + i, visible = s.num_past + i + 1;
    for (int64_t h = 0; h < d.n_h; ++h) {
      const float* q_nope = q.data() + (r * d.n_h + h) * d.qk;
      const float* q_rope = q_nope + d.d_nope;
      for (int64_t j = 0; j < visible; ++j) {
        const float* k_nope = f.data() + j * gate_dim + h * d.kv;
        p[j] = (ops::Dot(q_nope, k_nope, d.d_nope) +
                ops::Dot(q_rope, cache + s.Slot(j) * d.row + d.d_c, d.d_rope)) *
               scale;
      }
      ops::SoftmaxInPlace(p.data(), visible);
      float* out = attn + (r * d.n_h + h) * d.d_v;
      std::fill_n(out, d.d_v, 0.0f);
      for (int64_t j = 0; j < visible; ++j) {
        const float* v = f.data() + j * gate_dim + h * d.kv + d.d_nope;
        for (int64_t e = 0; e < d.d_v; ++e) out[e] += p[j] * v[e];
      }
    }
  }
}

}  // namespace

void LatentAttention(const AttentionBatch& b) {
  const Dims d = DimsOf(*b.config);
  const std::vector<float> q = Queries(b, d);
  WriteLatents(b, d);
  std::vector<float> attn(b.num_rows * d.n_h * d.d_v);  // [rows, n_h, d_v]
  for (const SequenceSlice& s : b.sequences) {
    if (RecomputesKv(*b.config)) {
      RecomputeAttention(b, d, s, q, attn.data());
    } else {
      AbsorbedAttention(b, d, s, q, attn.data());
    }
  }
  ops::Linear(attn.data(), b.weights->o_proj, b.out, b.num_rows, d.n_h * d.d_v, d.hidden);
}

}  // namespace egmla
