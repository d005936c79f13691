// Exact grouped ("per-distinct-token absorption") decode attention for eg_mla with
// gate_placement up_projected: ../shared/EGMLA_DECODE.md §2 (math) and §4 (id-ordered walk).
// Nothing here is new math; this is the contract of the CPU implementation.
//
// The recompute path (attention_latent.cc, DecompressedAttention) computes, for every visible
// token j, x_j = (kv_b_proj c_j) ⊙ G[τ_j] (width D = n_h·(d_nope + d_v)),
// f_j = LayerNorm(x_j; γ, β) = (x_j − μ_j)·rstd_j·γ + β, k_nope_hj, v_hj = split(f_j head h), and
// attends with score_hj = scale·(q_nope_h·k_nope_hj + q_R,h·k_R,j), scale = (d_nope + d_R)^-½.
// This function computes the same output without forming f_j:
//   a_h = q_nope_h ⊙ γ_K,h, s_h = Σ a_h, q̃_{h,τ} = W_UK,hᵀ (a_h ⊙ G_K[τ,h]) (once per distinct id),
//   score_hj = scale·(rstd_j·(q̃_{h,τ_j}·c_j − μ_j·s_h) + q_R,h·k_R,j)
//     (q_nope_h·β_K,h is the same for every j and cancels in the softmax: it is left out);
//   w_hj = p_hj·rstd_j, C_{h,τ} = Σ_{j:τ_j=τ} w_hj c_j,
//   o_h = γ_V,h ⊙ (Σ_τ G_V[τ,h] ⊙ (W_UV,h C_{h,τ}) − Σ_j w_hj μ_j) + β_V,h   (Σ_j p_hj = 1).
// Past tokens are visited id by id (a counting sort of distinct_of_token), ids in chunks of a few
// dozen: per chunk, q̃ and W_UV C run as [ids, ·] matrix products per head; each id's tokens form
// one softmax partial (its own max), folded into the row's state in id order, so only a chunk's
// accumulators are live at a time. Per visible token and row: one d_c dot and one d_c
// accumulation per head, plus the rope dot; per distinct id and row: the q̃ and W_UV products
// (n_h·(d_nope + d_v)·d_c multiply-adds); per distinct id: one gate row. So it does less work
// than the recompute path (T·n_h·(d_nope + d_v)·d_c, plus T gate rows) when num_q·U < T.
//
// Agreement with the recompute path is to rounding (different summation order), not bitwise:
// the tests hold max|Δ| <= 1e-5·max|o|. Chunks of ids run in parallel on the CPU pool and are
// folded in chunk order: deterministic for given inputs, whatever the number of threads.
#ifndef EGMLA_MODEL_EG_MLA_GROUPED_H_
#define EGMLA_MODEL_EG_MLA_GROUPED_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "model/gate.h"

namespace egmla {

// --eg-mla-decode: how generated tokens of eg_mla up_projected attend. kGrouped is this file;
// kRecompute, the reference, recomputes every visible token's K and V (attention_latent.cc).
enum class EgMlaDecode { kGrouped, kRecompute };
std::optional<EgMlaDecode> ParseEgMlaDecode(std::string_view name);  // "grouped" | "recompute"
const char* EgMlaDecodeName(EgMlaDecode mode);

struct GroupedDecodeParams {
  // Shapes (DESIGN §3: kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim).
  int64_t num_heads = 0;  // n_h
  int64_t d_nope = 0;
  int64_t d_rope = 0;  // d_R
  int64_t d_v = 0;
  int64_t d_c = 0;
  float scale = 0.0f;  // softmax scale; the model's is 1/sqrt(d_nope + d_R), as a float

  // Query rows of one sequence, one layer. Row i sees positions [0, visible[i]).
  int64_t num_q = 0;
  const float* q = nullptr;          // [num_q, n_h, d_nope + d_R], RoPE applied to the last d_R
  const int64_t* visible = nullptr;  // [num_q], each in [1, num_tokens]

  // The sequence's tokens (past and current), position j < num_tokens: cache row
  // cache + slots[j]*cache_row_stride = [c_j (d_c) ; k_R,j (d_R) ; anything].
  int64_t num_tokens = 0;          // T
  const float* cache = nullptr;    // [num_slots, cache_row_stride]
  int64_t cache_row_stride = 0;    // >= d_c + d_R
  const int64_t* slots = nullptr;  // [T]
  const float* ln_mean = nullptr;  // [T] μ_j  (ComputeLnStats)
  const float* ln_rstd = nullptr;  // [T] rstd_j

  // Grouping by token id: token j's id is distinct_ids[distinct_of_token[j]].
  int64_t num_distinct = 0;                    // U
  const int32_t* distinct_ids = nullptr;       // [U] token ids (only needed to compute gate rows)
  const int32_t* distinct_of_token = nullptr;  // [T], each in [0, U)

  // Layer weights (LayerWeights of the layer).
  const float* kv_b_proj = nullptr;  // [n_h, d_nope + d_v, d_c]: W_UK,h rows then W_UV,h rows
  const float* gamma = nullptr;      // [n_h, d_nope + d_v]  gate_norm.weight
  const float* beta = nullptr;       // [n_h, d_nope + d_v]  gate_norm.bias; null: zero

  // Gate rows G[τ] ([n_h, d_nope + d_v] each): either given, gate_rows[u] = G[distinct_ids[u]]
  // (rows of ids no query row sees may hold anything), or, when gate_rows is null, computed here
  // once per call for the ids some row sees, by gates->Compute(layer, ...).
  const float* gate_rows = nullptr;  // [U, n_h, d_nope + d_v] or null
  const Gates* gates = nullptr;      // used when gate_rows is null
  int64_t layer = 0;

  float* out = nullptr;  // [num_q, n_h, d_v]: attention output per head (before o_proj)
};

// Runs the grouped attention of `p` (on the CPU pool).
// REQUIRES: the shapes above; every row sees at least one token.
void GroupedLatentDecode(const GroupedDecodeParams& p);

// μ and rstd of x_j = (kv_b_proj c_j) ⊙ g_j for n tokens, bitwise as the recompute path's
// ops::LayerNorm computes them (x_j through ops::Linear, which is batch-invariant), so that
// (x_j − μ_j)·rstd_j·γ + β is exactly its output. The cache stores them when it writes c_j.
void ComputeLnStats(const float* latents,  // [n, latent_stride], c_j in the first d_c
                    int64_t latent_stride,
                    const float* gate_rows,  // [n, D], D = n_h·(d_nope + d_v): g_j = G[τ_j]
                    const float* kv_b_proj,  // [D, d_c]
                    int64_t n, int64_t d_c, int64_t width_d, float eps,
                    float* mean,   // [n]
                    float* rstd);  // [n]

}  // namespace egmla

#endif  // EGMLA_MODEL_EG_MLA_GROUPED_H_
