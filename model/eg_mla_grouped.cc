#include "model/eg_mla_grouped.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "kernels/cpu/cpu_threads.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"

namespace egmla {
namespace {

// Distinct ids handled together: their q̃ and W_UV products run as [ids, ·] × [·, d_c] matrix
// products, and their gate rows, when not given, are computed in one Gates::Compute call (the
// scratch stays kIdChunk·D floats however many ids the sequence has).
constexpr int64_t kIdChunk = 32;
// Tokens whose weighted latents are summed in float (vec.weighted_rows) before the block sum is
// added to the id's double accumulator: a frequent id's sum keeps double precision.
constexpr int64_t kTokenBlock = 64;

}  // namespace

std::optional<EgMlaDecode> ParseEgMlaDecode(std::string_view name) {
  if (name == "grouped") return EgMlaDecode::kGrouped;
  if (name == "recompute") return EgMlaDecode::kRecompute;
  return std::nullopt;
}

const char* EgMlaDecodeName(EgMlaDecode mode) {
  return mode == EgMlaDecode::kGrouped ? "grouped" : "recompute";
}

void ComputeLnStats(const float* latents, int64_t latent_stride, const float* gate_rows,
                    const float* kv_b_proj, int64_t n, int64_t d_c, int64_t width_d, float eps,
                    float* mean, float* rstd) {
  if (n <= 0) return;
  std::vector<float> c(n * d_c);  // [n, d_c]
  for (int64_t r = 0; r < n; ++r) std::copy_n(latents + r * latent_stride, d_c, &c[r * d_c]);
  std::vector<float> x(n * width_d);  // [n, D]
  ops::Linear(c.data(), kv_b_proj, x.data(), n, d_c, width_d);
  for (int64_t r = 0; r < n; ++r) {
    float* xr = x.data() + r * width_d;
    const float* gr = gate_rows + r * width_d;
    for (int64_t k = 0; k < width_d; ++k) xr[k] *= gr[k];
    // The statistics exactly as ops::LayerNorm (kernels/cpu/ops_cpu.cc) computes them.
    double sum = 0.0;
    for (int64_t k = 0; k < width_d; ++k) sum += xr[k];
    const double m = sum / width_d;
    double sum_sq = 0.0;
    for (int64_t k = 0; k < width_d; ++k) sum_sq += (xr[k] - m) * (xr[k] - m);
    rstd[r] = 1.0f / std::sqrt(static_cast<float>(sum_sq / width_d) + eps);
    mean[r] = static_cast<float>(m);
  }
}

void GroupedLatentDecode(const GroupedDecodeParams& p) {
  const ops::VecOps& vec = ops::Vec();
  const int64_t n_h = p.num_heads, d_nope = p.d_nope, d_r = p.d_rope, d_v = p.d_v, d_c = p.d_c;
  const int64_t qk = d_nope + d_r, kv = d_nope + d_v, width = n_h * kv;
  const int64_t num_q = p.num_q, num_u = p.num_distinct;
  if (num_q <= 0 || n_h <= 0) return;

  // Positions some row sees, grouped by id (CSR, ascending positions within an id).
  int64_t seen = 0;
  for (int64_t i = 0; i < num_q; ++i) seen = std::max(seen, p.visible[i]);
  std::vector<int64_t> start(num_u + 1, 0);  // [U + 1]
  for (int64_t j = 0; j < seen; ++j) ++start[p.distinct_of_token[j] + 1];
  for (int64_t u = 0; u < num_u; ++u) start[u + 1] += start[u];
  std::vector<int64_t> order(seen);  // [seen]: positions in id order
  {
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t j = 0; j < seen; ++j) order[next[p.distinct_of_token[j]]++] = j;
  }
  std::vector<int64_t> active;  // ids with at least one seen token, ascending
  for (int64_t u = 0; u < num_u; ++u) {
    if (start[u + 1] > start[u]) active.push_back(u);
  }
  const int64_t num_active = static_cast<int64_t>(active.size());

  // a_ih = q_nope_ih ⊙ γ_K,h and s_ih = Σ a_ih.
  std::vector<float> a(num_q * n_h * d_nope);  // [num_q, n_h, d_nope]
  std::vector<float> s(num_q * n_h);           // [num_q, n_h]
  for (int64_t i = 0; i < num_q; ++i) {
    for (int64_t h = 0; h < n_h; ++h) {
      const float* qn = p.q + (i * n_h + h) * qk;
      float* ah = a.data() + (i * n_h + h) * d_nope;
      double sum = 0.0;
      for (int64_t e = 0; e < d_nope; ++e) {
        ah[e] = qn[e] * p.gamma[h * kv + e];
        sum += ah[e];
      }
      s[i * n_h + h] = static_cast<float>(sum);
    }
  }
  // q̃ for a chunk of ids is one [ids, d_nope] × [d_nope, d_c] product per head with W_UK,h as
  // stored; W_UV,h C one [ids, d_c] × [d_c, d_v] product with W_UV,hᵀ (vec.matmul_rows takes the
  // [in, out] layout).
  std::vector<float> w_uv_t(n_h * d_c * d_v);  // [n_h, d_c, d_v]
  for (int64_t h = 0; h < n_h; ++h) {
    const float* w_uv = p.kv_b_proj + (h * kv + d_nope) * d_c;  // [d_v, d_c]
    float* t = w_uv_t.data() + h * d_c * d_v;
    for (int64_t e = 0; e < d_v; ++e) {
      for (int64_t k = 0; k < d_c; ++k) t[k * d_v + e] = w_uv[e * d_c + k];
    }
  }

  // Softmax state per (chunk, row, head): max m, l = Σ e^(score-m), wmu = Σ e^(score-m)·rstd·μ,
  // acc = Σ_τ G_V[τ] ⊙ (W_UV Σ_{j:τ_j=τ} e^(score_j-m)·rstd_j·c_j), each chunk's ids folded in id
  // order. Chunks run in parallel on the CPU pool; their states are then folded in chunk order,
  // so the result does not depend on the number of threads.
  const int64_t num_chunks = (num_active + kIdChunk - 1) / kIdChunk;
  std::vector<float> m_all(num_chunks * num_q * n_h, -INFINITY);  // [chunks, num_q, n_h]
  std::vector<double> l_all(num_chunks * num_q * n_h, 0.0);       // [chunks, num_q, n_h]
  std::vector<double> wmu_all(num_chunks * num_q * n_h, 0.0);     // [chunks, num_q, n_h]
  std::vector<double> acc_all(num_chunks * num_q * n_h * d_v, 0.0);  // [chunks, num_q, n_h, d_v]
  // Folds a partial state (m_u, l_u, wmu_u, y_u scaled by g) into (m, l, wmu, acc).
  auto fold = [d_v](float& m, double& l, double& wmu, double* acc, float m_u, double l_u,
                    double wmu_u, auto&& value_u) {
    const float new_m = std::max(m, m_u);
    const double alpha = l == 0.0 ? 0.0 : std::exp(static_cast<double>(m) - new_m);
    const double beta = std::exp(static_cast<double>(m_u) - new_m);
    m = new_m;
    l = l * alpha + l_u * beta;
    wmu = wmu * alpha + wmu_u * beta;
    for (int64_t e = 0; e < d_v; ++e) acc[e] = acc[e] * alpha + value_u(e) * beta;
  };

  ops::CpuPool().ParallelFor(num_chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
    std::vector<float> gate_buffer;                    // [kIdChunk, D] when computed here
    std::vector<int32_t> gate_ids;                     // [kIdChunk]
    std::vector<const float*> gate_row;                // [kIdChunk]: each id's [D] gate row
    std::vector<const float*> rows;                    // [count]: the id's cache rows
    std::vector<float> x(n_h * kIdChunk * d_nope);     // [n_h, ids, d_nope]: a_h ⊙ G_K[τ,h]
    std::vector<float> q_tilde(n_h * kIdChunk * d_c);  // [n_h, ids, d_c]
    std::vector<float> c_sum(n_h * kIdChunk * d_c);    // [n_h, ids, d_c]: C_{h,τ}
    std::vector<float> y(n_h * kIdChunk * d_v);        // [n_h, ids, d_v]: W_UV,h C_{h,τ}
    std::vector<float> m_u(kIdChunk * n_h);            // [ids, n_h]: the id's partial softmax
    std::vector<double> l_u(kIdChunk * n_h), wmu_u(kIdChunk * n_h);
    std::vector<int64_t> seen_count(kIdChunk);  // [ids]: the id's tokens the row sees
    std::vector<float> scores;                  // [count, n_h]: scores, then weights e·rstd
    std::vector<float> dot_c(n_h), dot_r(n_h);
    std::vector<float> block_sum(n_h * d_c);  // [n_h, d_c]
    std::vector<double> c_acc(n_h * d_c);     // [n_h, d_c]

    for (int64_t chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      const int64_t k0 = chunk * kIdChunk;
      const int64_t nc = std::min(kIdChunk, num_active - k0);
      const int64_t* ids = active.data() + k0;
      // The chunk's gate rows: given, read in place from the table, or computed here.
      gate_row.resize(nc);
      if (p.gate_rows != nullptr) {
        for (int64_t c = 0; c < nc; ++c) gate_row[c] = p.gate_rows + ids[c] * width;
      } else if (p.gates->mode() == GateMode::kTable) {
        for (int64_t c = 0; c < nc; ++c) {
          gate_row[c] = p.gates->TableRow(p.layer, p.distinct_ids[ids[c]]);
        }
      } else {
        gate_ids.resize(nc);
        for (int64_t c = 0; c < nc; ++c) gate_ids[c] = p.distinct_ids[ids[c]];
        gate_buffer.resize(nc * width);
        p.gates->Compute(p.layer, gate_ids, gate_buffer.data());
        for (int64_t c = 0; c < nc; ++c) gate_row[c] = gate_buffer.data() + c * width;
      }
      auto gate_of = [&](int64_t c) { return gate_row[c]; };
      for (int64_t i = 0; i < num_q; ++i) {
        const float* qi = p.q + i * n_h * qk;
        const float* si = s.data() + i * n_h;
        // q̃_{h,τ} = W_UK,hᵀ (a_ih ⊙ G_K[τ,h]) for the chunk's ids.
        for (int64_t h = 0; h < n_h; ++h) {
          const float* ah = a.data() + (i * n_h + h) * d_nope;
          for (int64_t c = 0; c < nc; ++c) {
            const float* g_k = gate_of(c) + h * kv;
            float* xc = x.data() + (h * kIdChunk + c) * d_nope;
            for (int64_t e = 0; e < d_nope; ++e) xc[e] = ah[e] * g_k[e];
          }
          vec.matmul_rows(x.data() + h * kIdChunk * d_nope, p.kv_b_proj + h * kv * d_c,
                          q_tilde.data() + h * kIdChunk * d_c, nc, d_nope, d_c);
        }
        // Per id: the scores of its tokens the row sees, their softmax partial (the id's own
        // max) and C_{h,τ}.
        for (int64_t c = 0; c < nc; ++c) {
          const int64_t u = ids[c];
          const int64_t* tokens = order.data() + start[u];
          const int64_t n =
              std::lower_bound(tokens, tokens + (start[u + 1] - start[u]), p.visible[i]) - tokens;
          seen_count[c] = n;
          if (n == 0) continue;  // the row sees none of this id's tokens
          float* mc = m_u.data() + c * n_h;
          std::fill_n(mc, n_h, -INFINITY);
          rows.resize(n);
          for (int64_t t = 0; t < n; ++t) {
            rows[t] = p.cache + p.slots[tokens[t]] * p.cache_row_stride;
          }
          scores.resize(n * n_h);
          const float* qt = q_tilde.data() + c * d_c;  // head h at qt + h*kIdChunk*d_c
          for (int64_t t = 0; t < n; ++t) {
            const int64_t j = tokens[t];
            const float mu = p.ln_mean[j], rs = p.ln_rstd[j];
            vec.dots(qt, kIdChunk * d_c, rows[t], 0, n_h, d_c, dot_c.data());
            vec.dots(qi + d_nope, qk, rows[t] + d_c, 0, n_h, d_r, dot_r.data());
            float* st = scores.data() + t * n_h;
            for (int64_t h = 0; h < n_h; ++h) {
              st[h] = p.scale * (rs * (dot_c[h] - mu * si[h]) + dot_r[h]);
              mc[h] = std::max(mc[h], st[h]);
            }
          }
          double* lc = l_u.data() + c * n_h;
          double* wc = wmu_u.data() + c * n_h;
          std::fill_n(lc, n_h, 0.0);
          std::fill_n(wc, n_h, 0.0);
          for (int64_t t = 0; t < n; ++t) {
            const int64_t j = tokens[t];
            const float mu = p.ln_mean[j], rs = p.ln_rstd[j];
            float* st = scores.data() + t * n_h;
            for (int64_t h = 0; h < n_h; ++h) {
              const float e = std::exp(st[h] - mc[h]);
              lc[h] += e;
              st[h] = e * rs;  // w, unnormalized
              wc[h] += static_cast<double>(st[h]) * mu;
            }
          }
          // C_h = Σ_t w_th c_t, summed in float over blocks of tokens, the blocks in double. Most
          // ids have one block: summed straight into C (the same float sum).
          if (n <= kTokenBlock) {
            for (int64_t h = 0; h < n_h; ++h) {
              std::fill_n(c_sum.data() + (h * kIdChunk + c) * d_c, d_c, 0.0f);
            }
            vec.weighted_rows(scores.data(), n_h, 1, rows.data(), 0, n, n_h, d_c,
                              c_sum.data() + c * d_c, kIdChunk * d_c);
            continue;
          }
          std::fill(c_acc.begin(), c_acc.end(), 0.0);
          for (int64_t t0 = 0; t0 < n; t0 += kTokenBlock) {
            const int64_t keys = std::min(kTokenBlock, n - t0);
            std::fill(block_sum.begin(), block_sum.end(), 0.0f);
            vec.weighted_rows(scores.data() + t0 * n_h, n_h, 1, rows.data() + t0, 0, keys, n_h,
                              d_c, block_sum.data(), d_c);
            for (int64_t r = 0; r < n_h * d_c; ++r) c_acc[r] += block_sum[r];
          }
          for (int64_t h = 0; h < n_h; ++h) {
            float* ch = c_sum.data() + (h * kIdChunk + c) * d_c;
            for (int64_t e = 0; e < d_c; ++e) ch[e] = static_cast<float>(c_acc[h * d_c + e]);
          }
        }
        // W_UV,h C_{h,τ} for the chunk's ids (rows of ids the row does not see are not used).
        for (int64_t h = 0; h < n_h; ++h) {
          vec.matmul_rows(c_sum.data() + h * kIdChunk * d_c, w_uv_t.data() + h * d_c * d_v,
                          y.data() + h * kIdChunk * d_v, nc, d_c, d_v);
        }
        // Fold the chunk's ids into the chunk's state, in id order, each times G_V[τ,h].
        for (int64_t c = 0; c < nc; ++c) {
          if (seen_count[c] == 0) continue;
          const float* g = gate_of(c);
          for (int64_t h = 0; h < n_h; ++h) {
            const int64_t at = (chunk * num_q + i) * n_h + h;
            const float* g_v = g + h * kv + d_nope;
            const float* yc = y.data() + (h * kIdChunk + c) * d_v;
            fold(m_all[at], l_all[at], wmu_all[at], acc_all.data() + at * d_v, m_u[c * n_h + h],
                 l_u[c * n_h + h], wmu_u[c * n_h + h],
                 [&](int64_t e) { return static_cast<double>(g_v[e]) * yc[e]; });
          }
        }
      }
    }
  });

  // The chunks' states folded in chunk order.
  std::vector<float> m(num_q * n_h, -INFINITY);     // [num_q, n_h]
  std::vector<double> l(num_q * n_h, 0.0);          // [num_q, n_h]
  std::vector<double> wmu(num_q * n_h, 0.0);        // [num_q, n_h]
  std::vector<double> acc(num_q * n_h * d_v, 0.0);  // [num_q, n_h, d_v]
  for (int64_t chunk = 0; chunk < num_chunks; ++chunk) {
    for (int64_t ih = 0; ih < num_q * n_h; ++ih) {
      const int64_t at = chunk * num_q * n_h + ih;
      if (l_all[at] == 0.0) continue;  // the rows saw none of the chunk's tokens
      const double* acc_u = acc_all.data() + at * d_v;
      fold(m[ih], l[ih], wmu[ih], acc.data() + ih * d_v, m_all[at], l_all[at], wmu_all[at],
           [acc_u](int64_t e) { return acc_u[e]; });
    }
  }

  // o_h = γ_V,h ⊙ (acc − wmu) / l + β_V,h.
  for (int64_t i = 0; i < num_q; ++i) {
    for (int64_t h = 0; h < n_h; ++h) {
      const int64_t ih = i * n_h + h;
      const double inv = 1.0 / l[ih];
      const double* acc_h = acc.data() + ih * d_v;
      float* o = p.out + ih * d_v;
      for (int64_t e = 0; e < d_v; ++e) {
        const int64_t f = h * kv + d_nope + e;
        const double b = p.beta != nullptr ? p.beta[f] : 0.0;
        o[e] = static_cast<float>(p.gamma[f] * (acc_h[e] - wmu[ih]) * inv + b);
      }
    }
  }
}

}  // namespace egmla
