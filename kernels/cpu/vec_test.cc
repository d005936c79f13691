#include "kernels/cpu/vec.h"

#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla::ops {
namespace {

std::vector<const VecOps*> Implementations() {
  std::vector<const VecOps*> all = {&GenericVec()};
  if (Avx2Vec() != nullptr) all.push_back(Avx2Vec());
  return all;
}

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

double NaiveDot(const float* a, const float* b, int64_t n) {
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += static_cast<double>(a[k]) * b[k];
  return sum;
}

TEST(VecTest, TheProcessPicksAnImplementation) {
  const VecOps& vec = Vec();
  EXPECT_TRUE(std::string(vec.isa) == "avx2+fma" || std::string(vec.isa) == "generic");
  if (Avx2Vec() != nullptr) {
    EXPECT_EQ(&vec, Avx2Vec());
  }
}

TEST(VecTest, GenericDotSumsInTheDocumentedOrder) {
  std::vector<float> a = Random(19, 1), b = Random(19, 2);
  float lanes[8] = {};
  for (int k = 0; k < 16; ++k) lanes[k % 8] += a[k] * b[k];
  float want = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
               ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
  for (int k = 16; k < 19; ++k) want += a[k] * b[k];
  float got = 0;
  GenericVec().dots(a.data(), 0, b.data(), 0, 1, 19, &got);
  EXPECT_EQ(got, want);  // bitwise
}

TEST(VecTest, DotsMatchADoubleReferenceForEveryLengthAndStride) {
  for (const VecOps* vec : Implementations()) {
    for (int64_t n : {0, 1, 7, 8, 9, 16, 63, 64, 257}) {
      const int64_t heads = 3, stride = n + 5;
      std::vector<float> a = Random(heads * stride, 3), b = Random(heads * stride, 4);
      std::vector<float> out(heads), shared(heads);
      vec->dots(a.data(), stride, b.data(), stride, heads, n, out.data());
      vec->dots(a.data(), stride, b.data(), 0, heads, n, shared.data());
      for (int64_t h = 0; h < heads; ++h) {
        EXPECT_NEAR(out[h], NaiveDot(&a[h * stride], &b[h * stride], n), 1e-4 * (n + 1))
            << vec->isa << " n=" << n;
        EXPECT_NEAR(shared[h], NaiveDot(&a[h * stride], b.data(), n), 1e-4 * (n + 1));
      }
    }
  }
}

TEST(VecTest, AxpysAccumulate) {
  for (const VecOps* vec : Implementations()) {
    for (int64_t n : {1, 8, 13, 64}) {
      const int64_t heads = 2;
      std::vector<float> alpha = {0.5f, -2.0f}, x = Random(heads * n, 5), y = Random(heads * n, 6);
      std::vector<float> want = y;
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t e = 0; e < n; ++e) want[h * n + e] += alpha[h] * x[h * n + e];
      }
      vec->axpys(alpha.data(), 1, x.data(), n, heads, n, y.data(), n);
      for (int64_t i = 0; i < heads * n; ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << vec->isa;
    }
  }
}

// A row's result is bitwise the same whether it is computed alone or in a block of rows.
TEST(VecTest, LinearColumnsIsBatchInvariantAndCorrect) {
  for (const VecOps* vec : Implementations()) {
    const int64_t rows = 7, in = 37, out = 21;
    std::vector<float> x = Random(rows * in, 7), w = Random(out * in, 8);
    std::vector<float> all(rows * out), one(out);
    vec->linear_columns(x.data(), w.data(), all.data(), rows, in, out, 0, out);
    for (int64_t r = 0; r < rows; ++r) {
      vec->linear_columns(&x[r * in], w.data(), one.data(), 1, in, out, 0, out);
      for (int64_t o = 0; o < out; ++o) {
        EXPECT_EQ(one[o], all[r * out + o]) << vec->isa;
        EXPECT_NEAR(one[o], NaiveDot(&x[r * in], &w[o * in], in), 1e-4);
      }
    }
  }
}

// matmul_rows: every column tail (out 64 + 16 + 8 + 3) and a row alone equals it in a block.
TEST(VecTest, MatmulRowsIsBatchInvariantAndCorrect) {
  for (const VecOps* vec : Implementations()) {
    const int64_t rows = 5, in = 19, out = 91;
    std::vector<float> x = Random(rows * in, 9), w = Random(in * out, 10);
    std::vector<float> all(rows * out), one(out);
    vec->matmul_rows(x.data(), w.data(), all.data(), rows, in, out);
    for (int64_t r = 0; r < rows; ++r) {
      vec->matmul_rows(&x[r * in], w.data(), one.data(), 1, in, out);
      for (int64_t o = 0; o < out; ++o) {
        double want = 0;
        for (int64_t k = 0; k < in; ++k) want += double{x[r * in + k]} * w[k * out + o];
        EXPECT_EQ(one[o], all[r * out + o]) << vec->isa;
        EXPECT_NEAR(one[o], want, 1e-4) << vec->isa << " row " << r << " column " << o;
      }
    }
  }
}

}  // namespace
}  // namespace egmla::ops
