// The CUDA runner's elementwise, norm and projection kernels against the CPU ops (kernels/ops.h)
// on random shapes, the same bf16-rounded inputs on both sides. ctest label `gpu` (skips without
// a device) and, built against the SIMT emulator, `emu`.
//
// Tolerances, from what differs between the two computations:
// - f32 results of the same formula in the same order (norms: the sums in double as the CPU op,
//   one rounding per step): bitwise equal but for the device's own rounding of expf/cosf/sinf
//   (≤ 2 ulp each, CUDA C Programming Guide, Appendix "Mathematical Functions"), so 2^-20
//   relative covers them.
// - bf16 results: one extra rounding to 8 significant bits, at most 2^-9 relative; 2^-8 leaves
//   room for the f32 differences before it.
// - sums of products in another order (Linear, HeadMatvec): |error| <= n * 2^-24 * Σ|x_k w_k|
//   (the standard γ_n bound of recursive summation, Higham §3.1), computed per element.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/add_rms_norm/add_rms_norm.h"
#include "kernels/cuda/block_table_update/block_table_update.h"
#include "kernels/cuda/cache_write/cache_write.h"
#include "kernels/cuda/gather_rows/gather_rows.h"
#include "kernels/cuda/gpu_test_util.h"
#include "kernels/cuda/head_matvec/head_matvec.h"
#include "kernels/cuda/kernel_test_util.h"
#include "kernels/cuda/layer_norm/layer_norm.h"
#include "kernels/cuda/linear/linear.h"
#include "kernels/cuda/rope/rope.h"
#include "kernels/cuda/swiglu/swiglu.h"
#include "kernels/ops.h"

namespace egmla::ops::cuda {
namespace {

using ::egmla::cuda::DeviceBuffer;
using ::egmla::cuda::gpu_test::GpuTest;
using namespace ::egmla::cuda::kernel_test;  // NOLINT: test helpers

const float kBf16Tolerance = std::ldexp(1.0f, -8);
const float kF32Tolerance = std::ldexp(1.0f, -20);

class ModelKernelsTest : public GpuTest {};

TEST_F(ModelKernelsTest, GatherRowsByIndexAndThroughABlockTable) {
  const int64_t table_rows = 37, stride = 24, cols = 19, column = 3;
  const std::vector<float> table = RandomBf16Values(table_rows * stride, 1);
  DeviceBuffer d_table = Upload(ToBf16(table));
  const std::vector<int32_t> index = {5, 0, 36, 5, 17};
  DeviceBuffer d_index = Upload(index);
  DeviceBuffer d_out = Upload(std::vector<float>(index.size() * cols));
  GatherRowsParams p{.source_bf16 = d_table.as<bf16>(),
                     .source_row_stride = stride,
                     .source_column = column,
                     .index = d_index.as<int32_t>(),
                     .out_f32 = d_out.as<float>(),
                     .out_row_stride = cols,
                     .rows = static_cast<int64_t>(index.size()),
                     .cols = cols};
  ASSERT_EQ(LaunchGatherRows(p, nullptr), cudaSuccess);
  std::vector<float> want;
  for (int32_t r : index) {
    for (int64_t c = 0; c < cols; ++c) want.push_back(table[r * stride + column + c]);
  }
  EXPECT_EQ(Download<float>(d_out), want);

  // Positions 0..9 of a sequence whose blocks of 4 slots are 7, 2, 8: slot of position i.
  const int64_t block_size = 4, rows = 10;
  const std::vector<int32_t> block_table = {7, 2, 8};
  DeviceBuffer d_blocks = Upload(block_table);
  std::vector<int32_t> ids(9 * block_size * 2);
  std::iota(ids.begin(), ids.end(), 100);
  DeviceBuffer d_ids = Upload(ids);
  DeviceBuffer d_ids_out = Upload(std::vector<int32_t>(rows));
  GatherRowsParams q{.source_i32 = d_ids.as<int32_t>(),
                     .source_row_stride = 2,
                     .source_column = 1,
                     .block_table = d_blocks.as<int32_t>(),
                     .block_size = block_size,
                     .out_i32 = d_ids_out.as<int32_t>(),
                     .out_row_stride = 1,
                     .rows = rows,
                     .cols = 1};
  ASSERT_EQ(LaunchGatherRows(q, nullptr), cudaSuccess);
  std::vector<int32_t> want_ids;
  for (int64_t i = 0; i < rows; ++i) {
    want_ids.push_back(ids[(block_table[i / block_size] * block_size + i % block_size) * 2 + 1]);
  }
  EXPECT_EQ(Download<int32_t>(d_ids_out), want_ids);
}

TEST_F(ModelKernelsTest, AddRmsNormMatchesTheCpuNormOfTheSum) {
  for (const auto& [rows, width] : {std::pair<int64_t, int64_t>{1, 8}, {5, 192}, {13, 77}}) {
    SCOPED_TRACE(testing::Message() << rows << "x" << width);
    const int64_t stride = width + 3;
    std::vector<float> x = RandomBf16Values(rows * stride, 2, 3.0f);
    const std::vector<float> delta = RandomBf16Values(rows * stride, 3);
    const std::vector<float> w = RandomBf16Values(width, 4);
    DeviceBuffer d_x = Upload(x), d_delta = Upload(delta), d_w = Upload(ToBf16(w));
    DeviceBuffer d_bf16 = Upload(std::vector<bf16>(rows * width));
    DeviceBuffer d_f32 = Upload(std::vector<float>(rows * width));
    ASSERT_EQ(LaunchAddRmsNorm({.x = d_x.as<float>(),
                                .delta = d_delta.as<float>(),
                                .weight = d_w.as<bf16>(),
                                .out_bf16 = d_bf16.as<bf16>(),
                                .out_f32 = d_f32.as<float>(),
                                .rows = rows,
                                .width = width,
                                .x_row_stride = stride,
                                .delta_row_stride = stride,
                                .out_row_stride = width,
                                .eps = 1e-5f},
                               nullptr),
              cudaSuccess);
    std::vector<float> sum(rows * width), want(rows * width);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < width; ++k) {
        x[r * stride + k] += delta[r * stride + k];
        sum[r * width + k] = x[r * stride + k];
      }
    }
    ops::RmsNorm(sum.data(), w.data(), want.data(), rows, width, 1e-5f);
    ExpectNear(Download<float>(d_x), x, 0.0f, 0.0f);  // the residual, written back
    ExpectNear(Download<float>(d_f32), want, kF32Tolerance, 0.0f);
    ExpectNear(ToF32(Download<bf16>(d_bf16)), want, kBf16Tolerance, 0.0f);

    // The final norm of chosen rows only, no delta.
    const std::vector<int32_t> pick = {static_cast<int32_t>(rows - 1), 0};
    DeviceBuffer d_pick = Upload(pick);
    DeviceBuffer d_picked = Upload(std::vector<float>(pick.size() * width));
    ASSERT_EQ(LaunchAddRmsNorm({.x = d_x.as<float>(),
                                .row_index = d_pick.as<int32_t>(),
                                .weight = d_w.as<bf16>(),
                                .out_f32 = d_picked.as<float>(),
                                .rows = 2,
                                .width = width,
                                .x_row_stride = stride,
                                .out_row_stride = width,
                                .eps = 1e-5f},
                               nullptr),
              cudaSuccess);
    std::vector<float> want_picked;
    for (int32_t r : pick) {
      want_picked.insert(want_picked.end(), want.begin() + r * width,
                         want.begin() + (r + 1) * width);
    }
    ExpectNear(Download<float>(d_picked), want_picked, kF32Tolerance, 0.0f);
  }
}

TEST_F(ModelKernelsTest, GatedLayerNormAndItsStatisticsMatchTheCpu) {
  const int64_t rows = 6, width = 96, stride = 100;
  const std::vector<float> x = RandomBf16Values(rows * stride, 5, 2.0f);
  const std::vector<float> g = RandomBf16Values(rows * width, 6);
  const std::vector<float> gamma = RandomBf16Values(width, 7), beta = RandomBf16Values(width, 8);
  DeviceBuffer d_x = Upload(x), d_g = Upload(g);
  DeviceBuffer d_gamma = Upload(ToBf16(gamma)), d_beta = Upload(ToBf16(beta));
  DeviceBuffer d_y = Upload(std::vector<bf16>(rows * width));
  DeviceBuffer d_mean = Upload(std::vector<float>(rows)), d_rstd = Upload(std::vector<float>(rows));
  ASSERT_EQ(LaunchLayerNorm({.x = d_x.as<float>(),
                             .gate = d_g.as<float>(),
                             .gamma = d_gamma.as<bf16>(),
                             .beta = d_beta.as<bf16>(),
                             .out_bf16 = d_y.as<bf16>(),
                             .mean = d_mean.as<float>(),
                             .rstd = d_rstd.as<float>(),
                             .rows = rows,
                             .width = width,
                             .x_row_stride = stride,
                             .gate_row_stride = width,
                             .out_row_stride = width,
                             .eps = 0.02f},
                            nullptr),
            cudaSuccess);
  std::vector<float> v(rows * width), want(rows * width), mean(rows), rstd(rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < width; ++k) v[r * width + k] = x[r * stride + k] * g[r * width + k];
    double s = 0.0, ss = 0.0;
    for (int64_t k = 0; k < width; ++k) s += v[r * width + k];
    const double m = s / width;
    for (int64_t k = 0; k < width; ++k) ss += (v[r * width + k] - m) * (v[r * width + k] - m);
    mean[r] = static_cast<float>(m);
    rstd[r] = 1.0f / std::sqrt(static_cast<float>(ss / width) + 0.02f);
  }
  ops::LayerNorm(v.data(), gamma.data(), beta.data(), want.data(), rows, width, 0.02f);
  // Beside the bf16 rounding, y has an absolute part: beta is added after the product, so a
  // result near 0 keeps the product's rounding (|product| * 2^-8 at most, products of O(10)).
  ExpectNear(ToF32(Download<bf16>(d_y)), want, kBf16Tolerance, 0.05f);
  ExpectNear(Download<float>(d_mean), mean, kF32Tolerance, 1e-7f);
  ExpectNear(Download<float>(d_rstd), rstd, kF32Tolerance, 0.0f);
}

TEST_F(ModelKernelsTest, RopeMatchesTheCpuInBothLayouts) {
  for (const bool interleave : {true, false}) {
    SCOPED_TRACE(interleave ? "interleaved" : "halves");
    const int64_t rows = 7, heads = 3, head_stride = 40, offset = 8, rope_dim = 32;
    const int64_t stride = heads * head_stride + 5;
    std::vector<float> x = RandomBf16Values(rows * stride, 9);
    const std::vector<int32_t> positions = {0, 1, 2, 17, 255, 1000, 4095};
    DeviceBuffer d_x = Upload(x), d_pos = Upload(positions);
    ASSERT_EQ(LaunchRope({.x = d_x.as<float>(),
                          .positions = d_pos.as<int32_t>(),
                          .rows = rows,
                          .row_stride = stride,
                          .num_heads = heads,
                          .head_stride = head_stride,
                          .offset = offset,
                          .rope_dim = rope_dim,
                          .theta = 500.0f,
                          .interleave = interleave},
                         nullptr),
              cudaSuccess);
    ops::ApplyRope({.x = x.data(),
                    .positions = positions.data(),
                    .rows = rows,
                    .row_stride = stride,
                    .num_heads = heads,
                    .head_stride = head_stride,
                    .offset = offset,
                    .rope_dim = rope_dim,
                    .theta = 500.0f,
                    .interleave = interleave});
    // cosf/sinf of angles up to 4095 rad: 2 ulp each on the device, times inputs of O(1).
    ExpectNear(Download<float>(d_x), x, kF32Tolerance, 1e-6f);
  }
}

TEST_F(ModelKernelsTest, SwiGluMatchesSiluMul) {
  const int64_t rows = 4, width = 553, in_stride = 2 * width + 1;
  const std::vector<float> gate_up = RandomBf16Values(rows * in_stride, 10, 3.0f);
  DeviceBuffer d_in = Upload(gate_up), d_out = Upload(std::vector<bf16>(rows * width));
  ASSERT_EQ(LaunchSwiGlu({.gate_up = d_in.as<float>(),
                          .out = d_out.as<bf16>(),
                          .rows = rows,
                          .width = width,
                          .in_row_stride = in_stride,
                          .out_row_stride = width},
                         nullptr),
            cudaSuccess);
  std::vector<float> gate(rows * width), up(rows * width), want(rows * width);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < width; ++k) {
      gate[r * width + k] = gate_up[r * in_stride + k];
      up[r * width + k] = gate_up[r * in_stride + width + k];
    }
  }
  ops::SiluMul(gate.data(), up.data(), want.data(), rows * width);
  ExpectNear(ToF32(Download<bf16>(d_out)), want, kBf16Tolerance, 1e-30f);
}

TEST_F(ModelKernelsTest, CacheWriteFillsOnlyTheMappedSlots) {
  const int64_t rows = 3, first = 5, second = 4, slots = 16, row_stride = first + second;
  const std::vector<float> a = RandomBf16Values(rows * first, 11);
  const std::vector<float> b = RandomBf16Values(rows * second, 12);
  const std::vector<int32_t> slot_mapping = {9, 2, 15};
  const std::vector<float> mean = {0.5f, -1.0f, 2.0f}, rstd = {3.0f, 4.0f, 5.0f};
  const std::vector<int32_t> ids = {40, 41, 42};
  DeviceBuffer d_a = Upload(a), d_b = Upload(b), d_slots = Upload(slot_mapping);
  DeviceBuffer d_mean = Upload(mean), d_rstd = Upload(rstd), d_ids = Upload(ids);
  DeviceBuffer d_cache = Upload(std::vector<bf16>(slots * row_stride, bf16{0}));
  DeviceBuffer d_stats = Upload(std::vector<float>(slots * 2, -7.0f));
  DeviceBuffer d_cache_ids = Upload(std::vector<int32_t>(slots, -1));
  ASSERT_EQ(LaunchCacheWrite({.first = d_a.as<float>(),
                              .first_row_stride = first,
                              .first_width = first,
                              .second = d_b.as<float>(),
                              .second_row_stride = second,
                              .second_width = second,
                              .slot_mapping = d_slots.as<int32_t>(),
                              .cache = d_cache.as<bf16>(),
                              .cache_row_stride = row_stride,
                              .ln_mean = d_mean.as<float>(),
                              .ln_rstd = d_rstd.as<float>(),
                              .cache_ln_stats = d_stats.as<float>(),
                              .token_ids = d_ids.as<int32_t>(),
                              .cache_token_ids = d_cache_ids.as<int32_t>(),
                              .rows = rows},
                             nullptr),
            cudaSuccess);
  std::vector<float> want(slots * row_stride, 0.0f), want_stats(slots * 2, -7.0f);
  std::vector<int32_t> want_ids(slots, -1);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t s = slot_mapping[i];
    for (int64_t k = 0; k < first; ++k) want[s * row_stride + k] = a[i * first + k];
    for (int64_t k = 0; k < second; ++k) want[s * row_stride + first + k] = b[i * second + k];
    want_stats[s * 2] = mean[i];
    want_stats[s * 2 + 1] = rstd[i];
    want_ids[s] = ids[i];
  }
  EXPECT_EQ(ToF32(Download<bf16>(d_cache)), want);  // the inputs are bf16 values: exact
  EXPECT_EQ(Download<float>(d_stats), want_stats);
  EXPECT_EQ(Download<int32_t>(d_cache_ids), want_ids);
}

// Σ|x_k w_k| per output, for the γ_n error bound.
std::vector<float> AbsDotBound(const std::vector<float>& x, const std::vector<float>& w,
                               int64_t rows, int64_t in, int64_t out) {
  std::vector<float> bound(rows * out);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t n = 0; n < out; ++n) {
      double s = 0.0;
      for (int64_t k = 0; k < in; ++k) s += std::abs(x[r * in + k] * w[n * in + k]);
      bound[r * out + n] = static_cast<float>(in * std::ldexp(s, -24));
    }
  }
  return bound;
}

TEST_F(ModelKernelsTest, LinearMatchesTheCpuAndEachRowIsIndependentOfTheBatch) {
  for (const auto& [rows, in, out] :
       {std::tuple<int64_t, int64_t, int64_t>{1, 16, 8}, {9, 192, 37}, {33, 553, 192}}) {
    SCOPED_TRACE(testing::Message() << rows << "x" << in << "->" << out);
    const std::vector<float> x = RandomBf16Values(rows * in, 13);
    const std::vector<float> w = RandomBf16Values(out * in, 14, 0.1f);
    DeviceBuffer d_x = Upload(ToBf16(x)), d_w = Upload(ToBf16(w));
    DeviceBuffer d_y = Upload(std::vector<float>(rows * out));
    LinearParams p{.x = d_x.as<bf16>(),
                   .w = d_w.as<bf16>(),
                   .y_f32 = d_y.as<float>(),
                   .rows = rows,
                   .in = in,
                   .out = out,
                   .x_row_stride = in,
                   .y_row_stride = out};
    ASSERT_EQ(LaunchLinear(p, nullptr), cudaSuccess);
    std::vector<float> want(rows * out);
    ops::Linear(x.data(), w.data(), want.data(), rows, in, out);
    const std::vector<float> got = Download<float>(d_y);
    const std::vector<float> bound = AbsDotBound(x, w, rows, in, out);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_LE(std::abs(got[i] - want[i]), 2 * bound[i] + 1e-30f) << i;
    }
    // The last row alone gives the same bits as inside the batch.
    DeviceBuffer d_one = Upload(std::vector<float>(out));
    p.x = d_x.as<bf16>() + (rows - 1) * in;
    p.y_f32 = d_one.as<float>();
    p.rows = 1;
    ASSERT_EQ(LaunchLinear(p, nullptr), cudaSuccess);
    EXPECT_EQ(Download<float>(d_one),
              std::vector<float>(got.begin() + (rows - 1) * out, got.end()));
  }
}

TEST_F(ModelKernelsTest, HeadMatvecAppliesEachHeadsMatrixThroughItsStrides) {
  // kv_b_proj of 3 heads, [n_h, d_nope + d_v, d_c] = [3, 6 + 5, 7]: q̂ = W_UKᵀ q_nope (transposed
  // access) on rows 2 and 0 of a batch of 3.
  const int64_t heads = 3, d_nope = 6, d_v = 5, d_c = 7, kv = d_nope + d_v, qk = d_nope + 4;
  const std::vector<float> w = RandomBf16Values(heads * kv * d_c, 15);
  const std::vector<float> q = RandomBf16Values(3 * heads * qk, 16);
  const std::vector<int32_t> rows = {2, 0};
  DeviceBuffer d_w = Upload(ToBf16(w)), d_q = Upload(q), d_rows = Upload(rows);
  DeviceBuffer d_out = Upload(std::vector<float>(3 * heads * d_c, 0.0f));
  ASSERT_EQ(LaunchHeadMatvec({.x = d_q.as<float>(),
                              .x_row_stride = heads * qk,
                              .x_head_stride = qk,
                              .w = d_w.as<bf16>(),
                              .w_head_stride = kv * d_c,
                              .w_out_stride = 1,
                              .w_in_stride = d_c,
                              .out_f32 = d_out.as<float>(),
                              .out_row_stride = heads * d_c,
                              .out_head_stride = d_c,
                              .rows = d_rows.as<int32_t>(),
                              .num_rows = 2,
                              .num_heads = heads,
                              .in = d_nope,
                              .out = d_c},
                             nullptr),
            cudaSuccess);
  std::vector<float> want(3 * heads * d_c, 0.0f);
  for (int32_t r : rows) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t c = 0; c < d_c; ++c) {
        double s = 0.0;
        for (int64_t a = 0; a < d_nope; ++a) {
          s += static_cast<double>(q[(r * heads + h) * qk + a]) * w[(h * kv + a) * d_c + c];
        }
        want[(r * heads + h) * d_c + c] = static_cast<float>(s);
      }
    }
  }
  // d_nope = 6 terms of O(1): 6 * 2^-24 * 6 < 3e-6.
  ExpectNear(Download<float>(d_out), want, 0.0f, 3e-6f);
}

TEST_F(ModelKernelsTest, BlockTableUpdateWritesOnlyTheNewIds) {
  const int64_t table_rows = 3, stride = 5;
  DeviceBuffer d_tables = Upload(std::vector<int32_t>(table_rows * stride, -1));
  const std::vector<int32_t> updates = {1, 0, 7, 1, 1, 9, 2, 4, 3};
  DeviceBuffer d_updates = Upload(updates);
  ASSERT_EQ(LaunchBlockTableUpdate({.updates = d_updates.as<int32_t>(),
                                    .num_updates = 3,
                                    .block_tables = d_tables.as<int32_t>(),
                                    .block_table_stride = stride},
                                   nullptr),
            cudaSuccess);
  std::vector<int32_t> want(table_rows * stride, -1);
  want[1 * stride + 0] = 7;
  want[1 * stride + 1] = 9;
  want[2 * stride + 4] = 3;
  EXPECT_EQ(Download<int32_t>(d_tables), want);
}

}  // namespace
}  // namespace egmla::ops::cuda
