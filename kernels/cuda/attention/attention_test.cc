// The reference attention kernel against a direct double-precision softmax attention, for the
// layouts the runner uses: mha (K and V per head, paged), absorbed mla (one shared latent as key
// and value, head stride 0) and decompressed (K and V contiguous, the rope key paged); block
// sizes that do not divide the context; rows chosen by a list. ctest labels as
// model_kernels_test.cc.
//
// Tolerance: inputs are bf16 values on both sides, the kernel works in fp32. A score
// s = scale * Σ q_k k_k is off by at most δ = d * 2^-24 * scale * Σ|q_k k_k| (γ_d); a softmax
// weight e^(s_j - m) / Σ e^(s_i - m) then moves by a relative ~2δ, and the weighted sum of values
// (|v| <= vmax) by ~2δ * vmax, plus the fp32 rounding of the accumulation over `visible` terms,
// visible * 2^-24 * vmax, and exp's own 2 ulp. The test bounds δ with the largest Σ|q k| it
// generates and allows 4x that sum.
#include "kernels/cuda/attention/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/decode_attention/decode_attention.h"
#include "kernels/cuda/gpu_test_util.h"
#include "kernels/cuda/kernel_test_util.h"

namespace egmla::ops::cuda {
namespace {

using ::egmla::cuda::DeviceBuffer;
using ::egmla::cuda::gpu_test::GpuTest;
using namespace ::egmla::cuda::kernel_test;  // NOLINT: test helpers

enum class Layout { kMha, kAbsorbed, kDecompressed };

struct Case {
  Layout layout;
  int64_t heads, d_a, d_b, d_v, block_size;
  std::vector<int32_t> positions;  // per batch row (one sequence: the last rows of a chunk)
  bool split_kv = false;           // the split-KV decode kernels instead of the reference one
};

// One sequence of `context` positions. The cache row holds [a-part ; b-part ; v-part] per layout.
void RunCase(const Case& c) {
  const int64_t rows = static_cast<int64_t>(c.positions.size());
  const int64_t context = *std::max_element(c.positions.begin(), c.positions.end()) + 1;
  const int64_t num_blocks = (context + c.block_size - 1) / c.block_size + 3;
  // Cache row layout: mha [K (h*d_a) ; V (h*d_v)]; absorbed [c (d_a = d_v) ; k_R (d_b)];
  // decompressed: cache [unused (4) ; k_R (d_b)], workspace [h * (K (d_a) ; V (d_v))].
  const int64_t cache_row = c.layout == Layout::kMha        ? c.heads * (c.d_a + c.d_v)
                            : c.layout == Layout::kAbsorbed ? c.d_a + c.d_b
                                                            : 4 + c.d_b;
  const std::vector<float> cache = RandomBf16Values(num_blocks * c.block_size * cache_row, 21);
  const int64_t ws_row = c.heads * (c.d_a + c.d_v);
  const std::vector<float> workspace = RandomBf16Values(context * ws_row, 22);
  const int64_t q_row = c.heads * (c.d_a + c.d_b);
  const std::vector<float> q = RandomBf16Values(rows * q_row, 23, 0.5f);
  // Blocks in a scrambled order: block i of the sequence is num_blocks - 1 - i.
  std::vector<int32_t> table;
  for (int64_t i = 0; i < num_blocks; ++i)
    table.push_back(static_cast<int32_t>(num_blocks - 1 - i));
  const std::vector<int32_t> row_table(rows, 1);  // the sequence's table is row 1 of 2
  std::vector<int32_t> tables(2 * num_blocks, -1);
  std::copy(table.begin(), table.end(), tables.begin() + num_blocks);
  const std::vector<int32_t> list = [&] {  // every row, last first
    std::vector<int32_t> l(rows);
    for (int64_t i = 0; i < rows; ++i) l[i] = static_cast<int32_t>(rows - 1 - i);
    return l;
  }();

  DeviceBuffer d_cache = Upload(ToBf16(cache)), d_ws = Upload(ToBf16(workspace));
  DeviceBuffer d_q = Upload(q), d_pos = Upload(c.positions), d_row_table = Upload(row_table);
  DeviceBuffer d_tables = Upload(tables), d_list = Upload(list);
  DeviceBuffer d_out = Upload(std::vector<float>(rows * c.heads * c.d_v, 0.0f));

  const bf16* cache_base = d_cache.as<bf16>();
  const bf16* ws_base = d_ws.as<bf16>();
  KvSource key_a, key_b, value;
  switch (c.layout) {
    case Layout::kMha:
      key_a = {cache_base, cache_row, c.d_a, 0, true};
      value = {cache_base, cache_row, c.d_v, c.heads * c.d_a, true};
      break;
    case Layout::kAbsorbed:
      key_a = {cache_base, cache_row, 0, 0, true};
      key_b = {cache_base, cache_row, 0, c.d_a, true};
      value = {cache_base, cache_row, 0, 0, true};
      break;
    case Layout::kDecompressed:
      key_a = {ws_base, ws_row, c.d_a + c.d_v, 0, false};
      key_b = {cache_base, cache_row, 0, 4, true};
      value = {ws_base, ws_row, c.d_a + c.d_v, c.d_a, false};
      break;
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.d_a + c.d_b));
  if (c.split_kv) {
    // The decode kernels (decode_attention.h): the plan cuts each row's positions into splits of
    // kDecodeSplitTokens; combine folds them into the row's output.
    std::vector<int32_t> work, row_work;
    for (int64_t r = 0; r < rows; ++r) {
      row_work.insert(row_work.end(),
                      {static_cast<int32_t>(r), static_cast<int32_t>(work.size() / 3), 0});
      for (int64_t b = 0; b <= c.positions[r]; b += kDecodeSplitTokens) {
        const int64_t e = std::min<int64_t>(b + kDecodeSplitTokens, c.positions[r] + 1);
        work.insert(work.end(),
                    {static_cast<int32_t>(r), static_cast<int32_t>(b), static_cast<int32_t>(e)});
        ++row_work.back();
      }
    }
    const int64_t num_work = static_cast<int64_t>(work.size() / 3);
    DeviceBuffer d_work = Upload(work), d_row_work = Upload(row_work);
    DeviceBuffer d_partial = Upload(std::vector<float>(num_work * c.heads * c.d_v));
    DeviceBuffer d_ml = Upload(std::vector<float>(num_work * c.heads * 2));
    ASSERT_EQ(LaunchDecodeAttention({.q_a = d_q.as<float>(),
                                     .q_a_row_stride = q_row,
                                     .q_a_head_stride = c.d_a + c.d_b,
                                     .q_b = d_q.as<float>() + c.d_a,
                                     .q_b_row_stride = q_row,
                                     .q_b_head_stride = c.d_a + c.d_b,
                                     .key_a = key_a,
                                     .key_b = key_b,
                                     .value = value,
                                     .d_a = c.d_a,
                                     .d_b = c.d_b,
                                     .d_v = c.d_v,
                                     .num_heads = c.heads,
                                     .scale = scale,
                                     .row_table = d_row_table.as<int32_t>(),
                                     .block_tables = d_tables.as<int32_t>(),
                                     .block_table_stride = num_blocks,
                                     .block_size = c.block_size,
                                     .work = d_work.as<int32_t>(),
                                     .num_work = num_work,
                                     .partial_out = d_partial.as<float>(),
                                     .partial_ml = d_ml.as<float>()},
                                    nullptr),
              cudaSuccess);
    ASSERT_EQ(LaunchDecodeCombine({.partial_out = d_partial.as<float>(),
                                   .partial_ml = d_ml.as<float>(),
                                   .rows = d_row_work.as<int32_t>(),
                                   .num_rows = rows,
                                   .num_heads = c.heads,
                                   .d_v = c.d_v,
                                   .out_f32 = d_out.as<float>(),
                                   .out_row_stride = c.heads * c.d_v,
                                   .out_head_stride = c.d_v},
                                  nullptr),
              cudaSuccess);
  } else {
    ASSERT_EQ(LaunchAttention({.q_a = d_q.as<float>(),
                               .q_a_row_stride = q_row,
                               .q_a_head_stride = c.d_a + c.d_b,
                               .q_b = d_q.as<float>() + c.d_a,
                               .q_b_row_stride = q_row,
                               .q_b_head_stride = c.d_a + c.d_b,
                               .key_a = key_a,
                               .key_b = key_b,
                               .value = value,
                               .d_a = c.d_a,
                               .d_b = c.d_b,
                               .d_v = c.d_v,
                               .num_heads = c.heads,
                               .scale = scale,
                               .rows = d_list.as<int32_t>(),
                               .num_queries = rows,
                               .positions = d_pos.as<int32_t>(),
                               .row_table = d_row_table.as<int32_t>(),
                               .block_tables = d_tables.as<int32_t>(),
                               .block_table_stride = num_blocks,
                               .block_size = c.block_size,
                               .out_f32 = d_out.as<float>(),
                               .out_row_stride = c.heads * c.d_v,
                               .out_head_stride = c.d_v},
                              nullptr),
              cudaSuccess);
  }
  const std::vector<float> got = Download<float>(d_out);

  // Element k of source `s` for position j, head h, from the host copies.
  auto element = [&](const KvSource& s, int64_t j, int64_t h, int64_t k) {
    const std::vector<float>& base = s.paged ? cache : workspace;
    const int64_t stride = s.paged ? cache_row : ws_row;
    const int64_t row = s.paged ? table[j / c.block_size] * c.block_size + j % c.block_size : j;
    return static_cast<double>(base[row * stride + h * s.head_stride + s.offset + k]);
  };
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < c.heads; ++h) {
      const int64_t visible = c.positions[r] + 1;
      std::vector<double> scores(visible);
      double max_abs_dot = 0.0;
      for (int64_t j = 0; j < visible; ++j) {
        double s = 0.0, abs_dot = 0.0;
        for (int64_t k = 0; k < c.d_a; ++k) {
          const double t = q[r * q_row + h * (c.d_a + c.d_b) + k] * element(key_a, j, h, k);
          s += t;
          abs_dot += std::abs(t);
        }
        for (int64_t k = 0; k < c.d_b; ++k) {
          const double t = q[r * q_row + h * (c.d_a + c.d_b) + c.d_a + k] * element(key_b, j, h, k);
          s += t;
          abs_dot += std::abs(t);
        }
        scores[j] = s * scale;
        max_abs_dot = std::max(max_abs_dot, abs_dot);
      }
      const double m = *std::max_element(scores.begin(), scores.end());
      double sum = 0.0;
      for (double& s : scores) sum += (s = std::exp(s - m));
      double vmax = 0.0;
      for (int64_t k = 0; k < c.d_v; ++k) {
        double want = 0.0;
        for (int64_t j = 0; j < visible; ++j) {
          const double v = element(value, j, h, k);
          want += scores[j] / sum * v;
          vmax = std::max(vmax, std::abs(v));
        }
        const double delta = (c.d_a + c.d_b) * std::ldexp(1.0, -24) * scale * max_abs_dot;
        const double tol =
            4 * (2 * delta + (visible + 4) * std::ldexp(1.0, -24)) * std::max(vmax, 1.0);
        ASSERT_NEAR(got[(r * c.heads + h) * c.d_v + k], want, tol)
            << "row " << r << " head " << h << " element " << k;
      }
    }
  }
}

class AttentionKernelTest : public GpuTest {};

TEST_F(AttentionKernelTest, MhaOverAPagedCache) {
  RunCase({Layout::kMha, 3, 16, 0, 16, 4, {0, 5, 6, 7, 8, 9, 10}});  // a chunk from position 5
  RunCase({Layout::kMha, 2, 24, 0, 24, 16, {40}});                   // one decode row
}

TEST_F(AttentionKernelTest, AbsorbedLatentSharedByEveryHead) {
  RunCase({Layout::kAbsorbed, 4, 16, 8, 16, 16, {33, 34}});
  RunCase({Layout::kAbsorbed, 2, 512, 64, 512, 64, {0}});  // the largest latent, one past token
  RunCase({Layout::kAbsorbed, 5, 12, 16, 12, 3, {70}});    // a block size that divides nothing
}

TEST_F(AttentionKernelTest, DecompressedKeysAndValuesWithAPagedRopeKey) {
  RunCase({Layout::kDecompressed, 3, 12, 8, 10, 4, {0, 1, 2, 3, 4, 5, 6, 7, 8}});
  RunCase({Layout::kDecompressed, 2, 48, 16, 48, 16, {100, 101}});
}

// Split-KV decode: each row's positions cut into splits of 256 and folded back; contexts of one
// token, of several splits and not a multiple of the block; one latent shared by the heads (mla)
// and per-head K and V (mha); many heads (several per warp).
TEST_F(AttentionKernelTest, SplitKvDecodeMatchesTheReferenceSoftmax) {
  RunCase({Layout::kMha, 3, 16, 0, 16, 4, {0, 5, 700}, true});
  RunCase({Layout::kMha, 2, 128, 0, 128, 16, {300}, true});
  RunCase({Layout::kAbsorbed, 4, 16, 8, 16, 16, {0, 33, 256, 257, 600}, true});
  RunCase({Layout::kAbsorbed, 12, 256, 64, 256, 64, {1000}, true});  // mla-kv256's shapes
  RunCase({Layout::kAbsorbed, 4, 512, 64, 512, 32, {300}, true});    // DeepSeek's latent width
  RunCase({Layout::kAbsorbed, 40, 12, 16, 12, 3, {70, 513}, true});  // 32 warps, 2 heads each
}

TEST_F(AttentionKernelTest, RefusesAValueWiderThanTheLimit) {
  AttentionParams p{.d_v = kAttentionMaxValueDim + 1, .num_heads = 1, .num_queries = 1};
  EXPECT_EQ(LaunchAttention(p, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace egmla::ops::cuda
