#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/ops.h"

namespace egmla::ops {
namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

TEST(OpsCpuTest, LinearMatchesNaiveProduct) {
  const int64_t rows = 5, in = 7, out = 3;
  auto x = Random(rows * in, 1), w = Random(out * in, 2);
  std::vector<float> y(rows * out);
  Linear(x.data(), w.data(), y.data(), rows, in, out);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double want = 0;
      for (int64_t i = 0; i < in; ++i) want += x[r * in + i] * w[o * in + i];
      EXPECT_NEAR(y[r * out + o], want, 1e-5);
    }
  }
}

TEST(OpsCpuTest, LinearBulkMatchesLinear) {
  const int64_t rows = 9, in = 37, out = 70;
  auto x = Random(rows * in, 3), w = Random(out * in, 4);
  std::vector<float> a(rows * out), b(rows * out);
  Linear(x.data(), w.data(), a.data(), rows, in, out);
  LinearBulk(x.data(), w.data(), b.data(), rows, in, out);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4);
}

// A request's results may not depend on what else is in the batch (DESIGN §4).
TEST(OpsCpuTest, LinearIsBatchInvariant) {
  for (int64_t in : {16, 37, 768}) {
    for (int64_t out : {17, 130, 1536}) {
      const int64_t all = 40;
      auto x = Random(all * in, 5), w = Random(out * in, 6);
      std::vector<float> reference(all * out);
      Linear(x.data(), w.data(), reference.data(), all, in, out);
      for (int64_t rows : {1, 2, 3, 4, 5, 9, 17, 33}) {
        for (int64_t first : {int64_t{0}, int64_t{3}}) {
          std::vector<float> y(rows * out);
          Linear(x.data() + first * in, w.data(), y.data(), rows, in, out);
          for (int64_t i = 0; i < rows * out; ++i) {
            ASSERT_EQ(y[i], reference[first * out + i])
                << "in " << in << " out " << out << " rows " << rows << " first " << first;
          }
        }
      }
    }
  }
}

TEST(OpsCpuTest, RmsNormHasUnitRootMeanSquare) {
  std::vector<float> x = {3, 4}, w = {1, 1}, y(2);
  RmsNorm(x.data(), w.data(), y.data(), 1, 2, 0.0f);
  EXPECT_NEAR(y[0] * y[0] + y[1] * y[1], 2.0f, 1e-5);
  EXPECT_NEAR(y[0] / y[1], 0.75f, 1e-6);
}

TEST(OpsCpuTest, LayerNormCentersAndScales) {
  std::vector<float> x = {1, 2, 3, 4}, gamma = {1, 1, 1, 2}, beta = {0, 0, 0, 1}, y(4);
  LayerNorm(x.data(), gamma.data(), beta.data(), y.data(), 1, 4, 0.0f);
  const float rstd = 1.0f / std::sqrt(1.25f);  // biased variance of 1..4 is 1.25
  EXPECT_NEAR(y[0], -1.5f * rstd, 1e-5);
  EXPECT_NEAR(y[3], 2 * 1.5f * rstd + 1, 1e-5);
}

TEST(OpsCpuTest, RopeRotatesTheDocumentedPairs) {
  const float theta = 10000.0f;
  for (bool interleave : {true, false}) {
    std::vector<float> x = {1, 2, 3, 4};  // one head of width 4
    int32_t pos = 3;
    ApplyRope({.x = x.data(),
               .positions = &pos,
               .rows = 1,
               .row_stride = 4,
               .num_heads = 1,
               .head_stride = 4,
               .offset = 0,
               .rope_dim = 4,
               .theta = theta,
               .interleave = interleave});
    // Pair 0 rotates by 3 rad, pair 1 by 3 * 10000^(-1/2) rad.
    const float a0 = 3.0f, a1 = 3.0f / 100.0f;
    auto rot = [](float a, float b, float ang) {
      return std::pair{a * std::cos(ang) - b * std::sin(ang),
                       b * std::cos(ang) + a * std::sin(ang)};
    };
    auto [p0a, p0b] = interleave ? rot(1, 2, a0) : rot(1, 3, a0);
    auto [p1a, p1b] = interleave ? rot(3, 4, a1) : rot(2, 4, a1);
    if (interleave) {
      EXPECT_NEAR(x[0], p0a, 1e-5);
      EXPECT_NEAR(x[1], p0b, 1e-5);
      EXPECT_NEAR(x[2], p1a, 1e-5);
      EXPECT_NEAR(x[3], p1b, 1e-5);
    } else {
      EXPECT_NEAR(x[0], p0a, 1e-5);
      EXPECT_NEAR(x[2], p0b, 1e-5);
      EXPECT_NEAR(x[1], p1a, 1e-5);
      EXPECT_NEAR(x[3], p1b, 1e-5);
    }
  }
}

TEST(OpsCpuTest, SoftmaxSumsToOneAndIsStable) {
  std::vector<float> x = {1000, 1001, 1002};
  SoftmaxInPlace(x.data(), 3);
  EXPECT_NEAR(x[0] + x[1] + x[2], 1.0f, 1e-6);
  EXPECT_GT(x[2], x[1]);
}

TEST(OpsCpuTest, SiluMul) {
  float g = 1.0f, u = 2.0f, y;
  SiluMul(&g, &u, &y, 1);
  EXPECT_NEAR(y, 2.0f / (1.0f + std::exp(-1.0f)), 1e-6);
}

}  // namespace
}  // namespace egmla::ops
