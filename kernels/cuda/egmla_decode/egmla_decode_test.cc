// The grouped EG-MLA decode kernels (egmla_decode.h) with their plan (egmla_plan.h) against the
// direct form computed in double: K and V of every visible token recomputed as
// f_j = γ ⊙ (x_j − μ_j)·rstd_j + β, x_j = (kv_b_proj c_j) ⊙ G[τ_j], then softmax attention. Cases:
// every id distinct, one very frequent id cut across splits, a single past token, batches of rows
// at mixed positions, odd sizes, a block size that divides nothing. ctest labels gpu / emu.
//
// Tolerance per (row, head): both sides use the same bf16 inputs and the same stored (μ, rstd);
// the kernel works in fp32. A score is off by at most δ = scale · 2^-24 · n · S, where n counts
// the terms of its sums (d_nope to form q̃, d_c for q̃·c, d_rope) and S bounds their magnitudes
// (rstd · (Σ|q̃_c c_c| + |μ s|) + Σ|q_R k_R|): the γ_n bound of each sum. The weights then move
// by a relative ~2δ, the output by 2δ·vmax, plus the fp32 sums over the visible tokens, d_c and
// d_v ((visible + d_c + d_v) · 2^-24 · vmax), plus the final bf16 rounding (2^-8 |o|). The test
// allows 4× the fp32 part.
#include "kernels/cuda/egmla_decode/egmla_decode.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/egmla_decode/egmla_plan.h"
#include "kernels/cuda/gpu_test_util.h"
#include "kernels/cuda/kernel_test_util.h"

namespace egmla::ops::cuda {
namespace {

using ::egmla::cuda::DeviceBuffer;
using ::egmla::cuda::gpu_test::GpuTest;
using namespace ::egmla::cuda::kernel_test;  // NOLINT: test helpers

struct Case {
  int64_t heads, d_nope, d_rope, d_v, d_c, block_size;
  std::vector<int32_t> ids;        // the sequence's token ids
  std::vector<int32_t> positions;  // decode rows: row r sees [0, positions[r]]
};

void RunCase(const Case& c, uint32_t seed) {
  const int64_t n_h = c.heads, kv = c.d_nope + c.d_v, qk = c.d_nope + c.d_rope;
  const int64_t width = n_h * kv, row_width = c.d_c + c.d_rope;
  const int64_t tokens = static_cast<int64_t>(c.ids.size());
  const int64_t rows = static_cast<int64_t>(c.positions.size());
  const int32_t vocab = *std::max_element(c.ids.begin(), c.ids.end()) + 1;
  const int64_t num_blocks = (tokens + c.block_size - 1) / c.block_size + 2;
  const float eps = 1e-5f;

  const std::vector<float> kv_b = RandomBf16Values(width * c.d_c, seed + 1, 0.3f);
  std::vector<float> gates = RandomBf16Values(vocab * width, seed + 2, 0.5f);
  for (float& g : gates) g = Bf16ToF32(F32ToBf16(g + 1.0f));
  std::vector<float> gamma = RandomBf16Values(width, seed + 3, 0.2f);
  for (float& g : gamma) g = Bf16ToF32(F32ToBf16(g + 1.0f));
  const std::vector<float> beta = RandomBf16Values(width, seed + 4, 0.2f);
  const std::vector<float> cache =
      RandomBf16Values(num_blocks * c.block_size * row_width, seed + 5);
  const std::vector<float> q = RandomBf16Values(rows * n_h * qk, seed + 6, 0.5f);
  std::vector<int32_t> table(num_blocks);  // block i of the sequence is num_blocks - 1 - i
  for (int64_t i = 0; i < num_blocks; ++i) table[i] = static_cast<int32_t>(num_blocks - 1 - i);
  auto slot = [&](int64_t j) { return table[j / c.block_size] * c.block_size + j % c.block_size; };

  // x_j in double, its statistics stored as fp32 (as the cache write does).
  std::vector<double> x(tokens * width);
  std::vector<float> stats(num_blocks * c.block_size * 2, 0.0f);
  for (int64_t j = 0; j < tokens; ++j) {
    const float* cj = &cache[slot(j) * row_width];
    double sum = 0.0;
    for (int64_t f = 0; f < width; ++f) {
      double v = 0.0;
      for (int64_t k = 0; k < c.d_c; ++k) v += static_cast<double>(kv_b[f * c.d_c + k]) * cj[k];
      x[j * width + f] = v * gates[c.ids[j] * width + f];
      sum += x[j * width + f];
    }
    const double mean = sum / width;
    double sq = 0.0;
    for (int64_t f = 0; f < width; ++f) sq += (x[j * width + f] - mean) * (x[j * width + f] - mean);
    stats[slot(j) * 2] = static_cast<float>(mean);
    stats[slot(j) * 2 + 1] = static_cast<float>(1.0 / std::sqrt(sq / width + eps));
  }

  // The plan: each row's ids in first-seen order; the gate row of an id is the id (table mode).
  std::vector<int32_t> distinct_ids, distinct_of_token(tokens);
  for (int64_t j = 0; j < tokens; ++j) {
    auto it = std::find(distinct_ids.begin(), distinct_ids.end(), c.ids[j]);
    if (it == distinct_ids.end()) it = distinct_ids.insert(distinct_ids.end(), c.ids[j]);
    distinct_of_token[j] = static_cast<int32_t>(it - distinct_ids.begin());
  }
  EgMlaPlan plan;
  for (int64_t r = 0; r < rows; ++r) {
    AppendEgMlaRow(static_cast<int32_t>(r), std::span(distinct_of_token).first(c.positions[r] + 1),
                   distinct_ids, plan);
  }

  DeviceBuffer d_q = Upload(q), d_cache = Upload(ToBf16(cache)), d_stats = Upload(stats);
  DeviceBuffer d_row_table = Upload(std::vector<int32_t>(rows, 0)), d_table = Upload(table);
  DeviceBuffer d_kv_b = Upload(ToBf16(kv_b)), d_gamma = Upload(ToBf16(gamma));
  DeviceBuffer d_beta = Upload(ToBf16(beta)), d_gates = Upload(ToBf16(gates));
  DeviceBuffer d_tokens = Upload(plan.tokens), d_segments = Upload(plan.segments);
  DeviceBuffer d_splits = Upload(plan.splits), d_rows = Upload(plan.rows);
  DeviceBuffer d_partial_stats = Upload(std::vector<float>(plan.num_splits() * n_h * 3));
  DeviceBuffer d_partial_acc = Upload(std::vector<float>(plan.num_splits() * n_h * c.d_v));
  DeviceBuffer d_out = Upload(std::vector<bf16>(rows * n_h * c.d_v));
  const float scale = 1.0f / std::sqrt(static_cast<float>(qk));
  ASSERT_EQ(LaunchEgMlaDecode({.num_heads = n_h,
                               .d_nope = c.d_nope,
                               .d_rope = c.d_rope,
                               .d_v = c.d_v,
                               .d_c = c.d_c,
                               .scale = scale,
                               .q = d_q.as<float>(),
                               .q_row_stride = n_h * qk,
                               .cache = d_cache.as<bf16>(),
                               .ln_stats = d_stats.as<float>(),
                               .row_table = d_row_table.as<int32_t>(),
                               .block_tables = d_table.as<int32_t>(),
                               .block_table_stride = num_blocks,
                               .block_size = c.block_size,
                               .kv_b_proj = d_kv_b.as<bf16>(),
                               .gamma = d_gamma.as<bf16>(),
                               .beta = d_beta.as<bf16>(),
                               .gate_rows = d_gates.as<bf16>(),
                               .tokens = d_tokens.as<int32_t>(),
                               .segments = d_segments.as<int32_t>(),
                               .splits = d_splits.as<int32_t>(),
                               .num_splits = plan.num_splits(),
                               .partial_stats = d_partial_stats.as<float>(),
                               .partial_acc = d_partial_acc.as<float>()},
                              nullptr),
            cudaSuccess);
  ASSERT_EQ(LaunchEgMlaCombine({.num_heads = n_h,
                                .d_nope = c.d_nope,
                                .d_v = c.d_v,
                                .partial_stats = d_partial_stats.as<float>(),
                                .partial_acc = d_partial_acc.as<float>(),
                                .gamma = d_gamma.as<bf16>(),
                                .beta = d_beta.as<bf16>(),
                                .rows = d_rows.as<int32_t>(),
                                .num_rows = plan.num_rows(),
                                .out = d_out.as<bf16>(),
                                .out_row_stride = n_h * c.d_v},
                               nullptr),
            cudaSuccess);
  const std::vector<float> got = ToF32(Download<bf16>(d_out));

  for (int64_t r = 0; r < rows; ++r) {
    const int64_t visible = c.positions[r] + 1;
    for (int64_t h = 0; h < n_h; ++h) {
      const float* qn = &q[(r * n_h + h) * qk];
      std::vector<double> scores(visible);
      double s_h = 0.0, bound = 0.0, vmax = 0.0;
      for (int64_t k = 0; k < c.d_nope; ++k) s_h += static_cast<double>(qn[k]) * gamma[h * kv + k];
      for (int64_t j = 0; j < visible; ++j) {
        const double mu = stats[slot(j) * 2], rstd = stats[slot(j) * 2 + 1];
        const float* cj = &cache[slot(j) * row_width];
        double dot = 0.0, dot_abs = 0.0, rope = 0.0, rope_abs = 0.0;
        for (int64_t k = 0; k < c.d_nope; ++k) {
          const int64_t f = h * kv + k;
          dot += qn[k] * (gamma[f] * (x[j * width + f] - mu) * rstd + beta[f]);
        }
        for (int64_t cc = 0; cc < c.d_c; ++cc) {  // Σ|q̃_c c_c| of the grouped form
          double q_tilde = 0.0;
          for (int64_t k = 0; k < c.d_nope; ++k) {
            const int64_t f = h * kv + k;
            q_tilde += qn[k] * gamma[f] * gates[c.ids[j] * width + f] * kv_b[f * c.d_c + cc];
          }
          dot_abs += std::abs(q_tilde * cj[cc]);
        }
        for (int64_t k = 0; k < c.d_rope; ++k) {
          rope += static_cast<double>(qn[c.d_nope + k]) * cj[c.d_c + k];
          rope_abs += std::abs(static_cast<double>(qn[c.d_nope + k]) * cj[c.d_c + k]);
        }
        scores[j] = scale * (dot + rope);
        bound = std::max(bound, rstd * (dot_abs + std::abs(mu * s_h)) + rope_abs);
      }
      const double m = *std::max_element(scores.begin(), scores.end());
      double sum = 0.0;
      for (double& s : scores) sum += (s = std::exp(s - m));
      const double delta =
          scale * std::ldexp(1.0, -24) * static_cast<double>(c.d_nope + c.d_c + c.d_rope) * bound;
      for (int64_t e = 0; e < c.d_v; ++e) {
        const int64_t f = h * kv + c.d_nope + e;
        double want = 0.0;
        for (int64_t j = 0; j < visible; ++j) {
          const double mu = stats[slot(j) * 2], rstd = stats[slot(j) * 2 + 1];
          const double v = gamma[f] * (x[j * width + f] - mu) * rstd + beta[f];
          want += scores[j] / sum * v;
          vmax = std::max(vmax, std::abs(v));
        }
        const double fp32 = (2 * delta + (visible + c.d_c + c.d_v) * std::ldexp(1.0, -24)) * vmax;
        const double tol = std::ldexp(std::abs(want), -8) + 4 * fp32;
        ASSERT_NEAR(got[(r * n_h + h) * c.d_v + e], want, tol)
            << "row " << r << " head " << h << " element " << e;
      }
    }
  }
}

std::vector<int32_t> Ids(int64_t n, int32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(n);
  for (int32_t& t : ids) t = static_cast<int32_t>(rng() % vocab);
  return ids;
}

class EgMlaDecodeKernelTest : public GpuTest {};

TEST_F(EgMlaDecodeKernelTest, EveryIdDistinctAndASinglePastToken) {
  std::vector<int32_t> ids(40);
  for (int32_t i = 0; i < 40; ++i) ids[i] = i;
  RunCase({2, 8, 4, 8, 6, 4, ids, {0, 1, 39}}, 1);
}

TEST_F(EgMlaDecodeKernelTest, AFrequentIdIsCutAcrossSplits) {
  // Id 3 holds 400 of 600 tokens: its segment spans three splits of 256.
  std::vector<int32_t> ids = Ids(600, 50, 2);
  for (int64_t j = 0; j < 600; ++j) {
    if (j % 3 != 0) ids[j] = 3;
  }
  RunCase({3, 16, 8, 12, 10, 16, ids, {599, 300}}, 2);
}

TEST_F(EgMlaDecodeKernelTest, MixedPositionsOddSizesAndBlocks) {
  RunCase({5, 7, 6, 9, 13, 3, Ids(90, 17, 3), {10, 44, 89, 89}}, 3);
  RunCase({12, 64, 64, 64, 64, 64, Ids(300, 120, 4), {299}}, 4);  // EG-MLA-kv64's head shapes
}

}  // namespace
}  // namespace egmla::ops::cuda
