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

  // Softmax state per (chunk, row, head): max m over the chunk's scores, l = Σ e^(score-m),
  // wmu = Σ e^(score-m)·rstd·μ, acc = Σ_τ G_V[τ] ⊙ (W_UV Σ_{j:τ_j=τ} e^(score_j-m)·rstd_j·c_j).
  // One max per chunk, so the chunk's ids add up without rescaling. Chunks run in parallel on the
  // CPU pool; their states are then folded in chunk order, so the result does not depend on the
  // number of threads.
  const int64_t num_chunks = (num_active + kIdChunk - 1) / kIdChunk;
  std::vector<float> m_all(num_chunks * num_q * n_h, -INFINITY);     // [chunks, num_q, n_h]
  std::vector<double> l_all(num_chunks * num_q * n_h, 0.0);          // [chunks, num_q, n_h]
  std::vector<double> wmu_all(num_chunks * num_q * n_h, 0.0);        // [chunks, num_q, n_h]
  std::vector<double> acc_all(num_chunks * num_q * n_h * d_v, 0.0);  // [chunks, num_q, n_h, d_v]

  ops::CpuPool().ParallelFor(num_chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
    std::vector<float> gate_buffer;                    // [kIdChunk, D] when computed here
    std::vector<int32_t> gate_ids;                     // [kIdChunk]
    std::vector<const float*> gate_row;                // [kIdChunk]: each id's [D] gate row
    std::vector<const float*> rows;                    // [chunk tokens]: their cache rows
    std::vector<int64_t> first(kIdChunk + 1);          // [ids + 1]: the id's tokens in rows
    std::vector<float> x(n_h * kIdChunk * d_nope);     // [n_h, ids, d_nope]: a_h ⊙ G_K[τ,h]
    std::vector<float> q_tilde(n_h * kIdChunk * d_c);  // [n_h, ids, d_c]
    std::vector<float> c_sum(n_h * kIdChunk * d_c);    // [n_h, ids, d_c]: C_{h,τ}
    std::vector<float> y(n_h * kIdChunk * d_v);        // [n_h, ids, d_v]: W_UV,h C_{h,τ}
    std::vector<float> scores;                         // [chunk tokens, n_h]: then weights
    std::vector<float> m(n_h), dot_r(n_h), acc(n_h * d_v);
    std::vector<double> l(n_h), wmu(n_h);
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
      for (int64_t i = 0; i < num_q; ++i) {
        const float* qi = p.q + i * n_h * qk;
        const float* si = s.data() + i * n_h;
        // q̃_{h,τ} = W_UK,hᵀ (a_ih ⊙ G_K[τ,h]) for the chunk's ids; each gate row read in order.
        for (int64_t c = 0; c < nc; ++c) {
          for (int64_t h = 0; h < n_h; ++h) {
            const float* ah = a.data() + (i * n_h + h) * d_nope;
            const float* g_k = gate_row[c] + h * kv;
            float* xc = x.data() + (h * kIdChunk + c) * d_nope;
            for (int64_t e = 0; e < d_nope; ++e) xc[e] = ah[e] * g_k[e];
          }
        }
        for (int64_t h = 0; h < n_h; ++h) {
          vec.matmul_rows(x.data() + h * kIdChunk * d_nope, p.kv_b_proj + h * kv * d_c,
                          q_tilde.data() + h * kIdChunk * d_c, nc, d_nope, d_c);
        }
        // The scores of the tokens the row sees, id by id, and their max.
        rows.clear();
        first[0] = 0;
        std::fill(m.begin(), m.end(), -INFINITY);
        for (int64_t c = 0; c < nc; ++c) {
          const int64_t u = ids[c];
          const int64_t* tokens = order.data() + start[u];
          const int64_t n =
              std::lower_bound(tokens, tokens + (start[u + 1] - start[u]), p.visible[i]) - tokens;
          const float* qt = q_tilde.data() + c * d_c;  // head h at qt + h*kIdChunk*d_c
          scores.resize((first[c] + n) * n_h);
          for (int64_t t = 0; t < n; ++t) {
            const int64_t j = tokens[t];
            const float* row = p.cache + p.slots[j] * p.cache_row_stride;
            rows.push_back(row);
            float* st = scores.data() + (first[c] + t) * n_h;
            vec.dots(qt, kIdChunk * d_c, row, 0, n_h, d_c, st);
            vec.dots(qi + d_nope, qk, row + d_c, 0, n_h, d_r, dot_r.data());
            const float mu = p.ln_mean[j], rs = p.ln_rstd[j];
            for (int64_t h = 0; h < n_h; ++h) {
              st[h] = p.scale * (rs * (st[h] - mu * si[h]) + dot_r[h]);
              m[h] = std::max(m[h], st[h]);
            }
          }
          first[c + 1] = first[c] + n;
        }
        if (first[nc] == 0) continue;  // the row sees none of the chunk's tokens
        // Weights e·rstd against the chunk's max; l, wmu; C_{h,τ} per id, summed in float over
        // blocks of tokens, the blocks in double (most ids have one block: straight into C).
        std::fill(l.begin(), l.end(), 0.0);
        std::fill(wmu.begin(), wmu.end(), 0.0);
        for (int64_t c = 0; c < nc; ++c) {
          const int64_t n = first[c + 1] - first[c];
          for (int64_t t = first[c]; t < first[c + 1]; ++t) {
            const int64_t j = order[start[ids[c]] + t - first[c]];
            const float mu = p.ln_mean[j], rs = p.ln_rstd[j];
            float* st = scores.data() + t * n_h;
            for (int64_t h = 0; h < n_h; ++h) {
              const float e = std::exp(st[h] - m[h]);
              l[h] += e;
              st[h] = e * rs;  // w, unnormalized
              wmu[h] += static_cast<double>(st[h]) * mu;
            }
          }
          for (int64_t h = 0; h < n_h; ++h) {
            std::fill_n(c_sum.data() + (h * kIdChunk + c) * d_c, d_c, 0.0f);
          }
          if (n <= kTokenBlock) {
            vec.weighted_rows(scores.data() + first[c] * n_h, n_h, 1, rows.data() + first[c], 0, n,
                              n_h, d_c, c_sum.data() + c * d_c, kIdChunk * d_c);
            continue;
          }
          std::fill(c_acc.begin(), c_acc.end(), 0.0);
          for (int64_t t0 = 0; t0 < n; t0 += kTokenBlock) {
            const int64_t keys = std::min(kTokenBlock, n - t0);
            std::fill(block_sum.begin(), block_sum.end(), 0.0f);
            vec.weighted_rows(scores.data() + (first[c] + t0) * n_h, n_h, 1,
                              rows.data() + first[c] + t0, 0, keys, n_h, d_c, block_sum.data(),
                              d_c);
            for (int64_t r = 0; r < n_h * d_c; ++r) c_acc[r] += block_sum[r];
          }
          for (int64_t h = 0; h < n_h; ++h) {
            float* ch = c_sum.data() + (h * kIdChunk + c) * d_c;
            for (int64_t e = 0; e < d_c; ++e) ch[e] = static_cast<float>(c_acc[h * d_c + e]);
          }
        }
        // W_UV,h C_{h,τ} for the chunk's ids (an id the row does not see has C = 0), then
        // acc_h = Σ_τ G_V[τ,h] ⊙ (W_UV,h C_{h,τ}), ids in order.
        for (int64_t h = 0; h < n_h; ++h) {
          vec.matmul_rows(c_sum.data() + h * kIdChunk * d_c, w_uv_t.data() + h * d_c * d_v,
                          y.data() + h * kIdChunk * d_v, nc, d_c, d_v);
        }
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t c = 0; c < nc; ++c) {
          if (first[c + 1] == first[c]) continue;
          for (int64_t h = 0; h < n_h; ++h) {
            const float* g_v = gate_row[c] + h * kv + d_nope;
            const float* yc = y.data() + (h * kIdChunk + c) * d_v;
            float* acc_h = acc.data() + h * d_v;
            for (int64_t e = 0; e < d_v; ++e) acc_h[e] += g_v[e] * yc[e];
          }
        }
        for (int64_t h = 0; h < n_h; ++h) {
          const int64_t at = (chunk * num_q + i) * n_h + h;
          m_all[at] = m[h];
          l_all[at] = l[h];
          wmu_all[at] = wmu[h];
          std::copy_n(acc.data() + h * d_v, d_v, acc_all.data() + at * d_v);
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
      if (l_all[at] == 0.0) continue;  // the row saw none of the chunk's tokens
      const float new_m = std::max(m[ih], m_all[at]);
      const double alpha = l[ih] == 0.0 ? 0.0 : std::exp(static_cast<double>(m[ih]) - new_m);
      const double beta = std::exp(static_cast<double>(m_all[at]) - new_m);
      m[ih] = new_m;
      l[ih] = l[ih] * alpha + l_all[at] * beta;
      wmu[ih] = wmu[ih] * alpha + wmu_all[at] * beta;
      double* acc_ih = acc.data() + ih * d_v;
      const double* acc_u = acc_all.data() + at * d_v;
      for (int64_t e = 0; e < d_v; ++e) acc_ih[e] = acc_ih[e] * alpha + acc_u[e] * beta;
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
