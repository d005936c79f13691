// MLA and EG-MLA attention over a cache of [c ; k_R] rows (DESIGN §3.1).
//   mla, eg_mla latent: prompt rows attend decompressed (K and V up-projected once per chunk,
//     as DeepSeek and vLLM prefill), generated rows absorbed (q̂_h = W_UK,hᵀ q_nope_h; attend over
//     c; W_UV,h on the attended latent), so decoding reads only the latent.
//   eg_mla up_projected: the gate and LayerNorm forbid MLA's absorption. Prompt rows recompute K
//     and V of every visible token from c and its token id (never stored); generated rows, with
//     grouped decode, absorb per distinct token id instead (EGMLA_DECODE.md §2, eg_mla_grouped.h),
//     reading each token's LayerNorm statistics, stored beside its latent when it is written.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/vec.h"
#include "kernels/ops.h"
#include "model/attention.h"
#include "model/attention_core.h"
#include "model/eg_mla_grouped.h"

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

bool RecomputesKv(const ModelConfig& c) { return c.is_eg_mla_up_projected(); }

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
  // eg_mla up_projected: μ and rstd of (kv_b_proj c) ⊙ G[τ], which never change (§2 fact 1).
  std::vector<float> mean, rstd;  // [rows] each
  if (RecomputesKv(c)) {
    const int64_t width = d.n_h * d.kv;
    std::vector<float> g(rows * width);  // [rows, n_h, d_nope + d_v]
    b.gates->Compute(b.layer, std::span(b.token_ids, rows), g.data());
    mean.resize(rows);
    rstd.resize(rows);
    ComputeLnStats(kv.data(), d.row, g.data(), w.kv_b_proj, rows, d.d_c, width,
                   static_cast<float>(c.gate_norm_eps), mean.data(), rstd.data());
  }
  for (const SequenceSlice& s : b.sequences) {
    float* cache = s.storage->layers[b.layer];
    for (int64_t i = 0; i < s.num_new; ++i) {
      const int64_t slot = s.Slot(s.num_past + i), r = s.first_row + i;
      std::copy_n(kv.data() + r * d.row, d.row, cache + slot * d.row);
      if (!mean.empty()) {
        float* stats = s.storage->ln_stats[b.layer] + slot * 2;
        stats[0] = mean[r];
        stats[1] = rstd[r];
      }
    }
  }
}

// Rows [i0, i1) of sequence `s` (eg_mla up_projected), grouped by token id (EGMLA_DECODE.md §2):
// per visible token a latent dot and accumulation, per distinct id the absorbed products.
void GroupedAttention(const AttentionBatch& b, const Dims& d, const SequenceSlice& s, int64_t i0,
                      int64_t i1,
                      const std::vector<float>& q,  // [rows, n_h, qk]
                      float* attn) {                // [rows, n_h, d_v]
  const int64_t total = s.num_past + i1;
  TokenGroups local;  // when the caller keeps none: from the stored ids
  const TokenGroups* groups = s.groups;
  if (groups == nullptr || groups->num_tokens() < total) {
    std::vector<int32_t> ids(total);  // [total]
    for (int64_t j = 0; j < total; ++j) ids[j] = s.storage->token_ids[s.Slot(j)];
    local.Append(ids);
    groups = &local;
  }
  std::vector<int64_t> slots(total);  // [total]
  std::vector<float> mean(total), rstd(total);
  const float* stats = s.storage->ln_stats[b.layer];  // [slots, 2]
  for (int64_t j = 0; j < total; ++j) {
    slots[j] = s.Slot(j);
    mean[j] = stats[slots[j] * 2];
    rstd[j] = stats[slots[j] * 2 + 1];
  }
  std::vector<int64_t> visible(i1 - i0);  // [rows]: row i sees its own position
  for (int64_t i = i0; i < i1; ++i) visible[i - i0] = s.num_past + i + 1;
  const LayerWeights& w = *b.weights;
  GroupedLatentDecode({.num_heads = d.n_h,
                       .d_nope = d.d_nope,
                       .d_rope = d.d_rope,
                       .d_v = d.d_v,
                       .d_c = d.d_c,
                       .scale = 1.0f / std::sqrt(static_cast<float>(d.qk)),
                       .num_q = i1 - i0,
                       .q = q.data() + (s.first_row + i0) * d.n_h * d.qk,
                       .visible = visible.data(),
                       .num_tokens = total,
                       .cache = s.storage->layers[b.layer],
                       .cache_row_stride = d.row,
                       .slots = slots.data(),
                       .ln_mean = mean.data(),
                       .ln_rstd = rstd.data(),
                       .num_distinct = groups->num_distinct(),
                       .distinct_ids = groups->distinct_ids().data(),
                       .distinct_of_token = groups->distinct_of_token().data(),
                       .kv_b_proj = w.kv_b_proj,
                       .gamma = w.gate_norm_weight,
                       .beta = w.gate_norm_bias,
                       .gates = b.gates,
                       .layer = b.layer,
                       .out = attn + (s.first_row + i0) * d.n_h * d.d_v});
}

// Rows [i0, i1) of sequence `s`, absorbed: q̂_h = W_UK,hᵀ q_nope_h; attention over the cached
// [c ; k_R] rows with c as the value (one shared key and value for all heads); then W_UV,h on
// the attended latent. Reads only the latent.
void AbsorbedAttention(const AttentionBatch& b, const Dims& d, const SequenceSlice& s, int64_t i0,
                       int64_t i1,
                       const std::vector<float>& q,  // [rows, n_h, qk]
                       float* attn) {                // [rows, n_h, d_v]
  const ops::VecOps& vec = ops::Vec();
  const float* kv_b = b.weights->kv_b_proj;  // [n_h, d_nope + d_v, d_c]
  const int64_t n = i1 - i0, q_width = d.d_c + d.d_rope;
  std::vector<float> q_abs(n * d.n_h * q_width, 0.0f);  // [n, n_h, d_c + d_R]: [q̂ ; q_rope]
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t h = 0; h < d.n_h; ++h) {
      const float* q_nope = q.data() + ((s.first_row + i0 + i) * d.n_h + h) * d.qk;
      const float* w_uk = kv_b + h * d.kv * d.d_c;  // [d_nope, d_c]
      float* q_hat = q_abs.data() + (i * d.n_h + h) * q_width;
      for (int64_t a = 0; a < d.d_nope; ++a) {
        vec.axpys(q_nope + a, 0, w_uk + a * d.d_c, 0, 1, d.d_c, q_hat, 0);
      }
      std::copy_n(q_nope + d.d_nope, d.d_rope, q_hat + d.d_c);
    }
  }
  const float* cache = s.storage->layers[b.layer];
  auto slot = [&s](int64_t j) { return s.Slot(j); };
  const int64_t visible = s.num_past + i1;
  const std::vector<const float*> latents = RowPointers(cache, visible, d.row, 0, slot);
  const std::vector<const float*> rope_keys = RowPointers(cache, visible, d.row, d.d_c, slot);
  std::vector<float> attended(n * d.n_h * d.d_c);  // [n, n_h, d_c]
  AttendHeads({.num_heads = d.n_h,
               .num_new = n,
               .num_past = s.num_past + i0,
               .q = q_abs.data(),
               .q_row_stride = d.n_h * q_width,
               .q_head_stride = q_width,
               .d_a = d.d_c,
               .d_b = d.d_rope,
               .key_a = latents.data(),
               .key_b = rope_keys.data(),
               .value = latents.data(),
               .d_v = d.d_c,
               .scale = 1.0f / std::sqrt(static_cast<float>(d.qk)),
               .out = attended.data(),
               .out_row_stride = d.n_h * d.d_c});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t h = 0; h < d.n_h; ++h) {
      const float* w_uv = kv_b + h * d.kv * d.d_c + d.d_nope * d.d_c;  // [d_v, d_c]
      vec.dots(w_uv, d.d_c, attended.data() + (i * d.n_h + h) * d.d_c, 0, d.d_v, d.d_c,
               attn + ((s.first_row + i0 + i) * d.n_h + h) * d.d_v);
    }
  }
}

// Rows [0, n) of sequence `s`, decompressed: K and V of the positions they see are up-projected
// from the latent, f_j = kv_b_proj(c_j) — for eg_mla up_projected gated, f_j = LN(kv_b_proj(c_j)
// ⊙ g(τ_j)), the only form it has — then attention in the head dimension. K and V are never
// stored.
void DecompressedAttention(const AttentionBatch& b, const Dims& d, const SequenceSlice& s,
                           int64_t n, bool gated,
                           const std::vector<float>& q,  // [rows, n_h, qk]
                           float* attn) {                // [rows, n_h, d_v]
  const ModelConfig& c = *b.config;
  const LayerWeights& w = *b.weights;
  const int64_t total = s.num_past + n, kv_width = d.n_h * d.kv;
  const float* cache = s.storage->layers[b.layer];

  std::vector<float> latents(total * d.d_c);  // [total, d_c]
  for (int64_t j = 0; j < total; ++j) {
    std::copy_n(cache + s.Slot(j) * d.row, d.d_c, &latents[j * d.d_c]);
  }
  std::vector<float> f(total * kv_width);  // [total, n_h, d_nope + d_v]
  ops::Linear(latents.data(), w.kv_b_proj, f.data(), total, d.d_c, kv_width);
  if (gated) {
    std::vector<int32_t> ids(total);  // [total]
    for (int64_t j = 0; j < total; ++j) ids[j] = s.storage->token_ids[s.Slot(j)];
    std::vector<float> g(total * kv_width);  // [total, n_h, d_nope + d_v]
    b.gates->Compute(b.layer, ids, g.data());
    for (int64_t k = 0; k < total * kv_width; ++k) f[k] *= g[k];
    ops::LayerNorm(f.data(), w.gate_norm_weight, w.gate_norm_bias, f.data(), total, kv_width,
                   static_cast<float>(c.gate_norm_eps));
  }
  auto slot = [&s](int64_t j) { return s.Slot(j); };
  auto identity = [](int64_t j) { return j; };
  const std::vector<const float*> keys = RowPointers(f.data(), total, kv_width, 0, identity);
  const std::vector<const float*> values =
      RowPointers(f.data(), total, kv_width, d.d_nope, identity);
  const std::vector<const float*> rope_keys = RowPointers(cache, total, d.row, d.d_c, slot);
  AttendHeads({.num_heads = d.n_h,
               .num_new = n,
               .num_past = s.num_past,
               .q = q.data() + s.first_row * d.n_h * d.qk,
               .q_row_stride = d.n_h * d.qk,
               .q_head_stride = d.qk,
               .d_a = d.d_nope,
               .d_b = d.d_rope,
               .key_a = keys.data(),
               .key_a_head_stride = d.kv,
               .key_b = rope_keys.data(),
               .value = values.data(),
               .value_head_stride = d.kv,
               .d_v = d.d_v,
               .scale = 1.0f / std::sqrt(static_cast<float>(d.qk)),
               .out = attn + s.first_row * d.n_h * d.d_v,
               .out_row_stride = d.n_h * d.d_v});
}

}  // namespace

void LatentAttention(const AttentionBatch& b) {
  const Dims d = DimsOf(*b.config);
  const std::vector<float> q = Queries(b, d);
  WriteLatents(b, d);
  std::vector<float> attn(b.num_rows * d.n_h * d.d_v);  // [rows, n_h, d_v]
  const bool gated = RecomputesKv(*b.config);
  for (const SequenceSlice& s : b.sequences) {
    // Prompt rows decompressed, later ones absorbed (kv_view.h): for the up-projected gate,
    // grouped by id, or all decompressed when grouped decode is off.
    const int64_t decompressed = gated && !b.grouped_decode
                                     ? s.num_new
                                     : std::clamp<int64_t>(s.num_prompt - s.num_past, 0, s.num_new);
    if (decompressed > 0) DecompressedAttention(b, d, s, decompressed, gated, q, attn.data());
    if (decompressed == s.num_new) continue;
    if (gated) {
      GroupedAttention(b, d, s, decompressed, s.num_new, q, attn.data());
    } else {
      AbsorbedAttention(b, d, s, decompressed, s.num_new, q, attn.data());
    }
  }
  ops::Linear(attn.data(), b.weights->o_proj, b.out, b.num_rows, d.n_h * d.d_v, d.hidden);
}

}  // namespace egmla
