// Portable VecOps (see vec.h for the summation order every implementation follows).
#include <algorithm>

#include "kernels/cpu/vec.h"

namespace egmla::ops {
namespace {

constexpr int kLanes = 8;
constexpr int kRowBlock = 4;

inline float Tree(const float* a) {
  return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

// y[i, o] for i < R; R rows share each load of a weight row.
template <int R>
void LinearRows(const float* x, const float* w, float* y, int64_t in, int64_t out, int64_t o_begin,
                int64_t o_end) {
  const int64_t in_lanes = in - in % kLanes;
  for (int64_t o = o_begin; o < o_end; ++o) {
    const float* wo = w + o * in;
    float acc[R][kLanes] = {};
    for (int64_t k = 0; k < in_lanes; k += kLanes) {
      for (int i = 0; i < R; ++i) {
        for (int l = 0; l < kLanes; ++l) acc[i][l] += x[i * in + k + l] * wo[k + l];
      }
    }
    for (int i = 0; i < R; ++i) {
      float sum = Tree(acc[i]);
      for (int64_t k = in_lanes; k < in; ++k) sum += x[i * in + k] * wo[k];
      y[i * out + o] = sum;
    }
  }
}

void LinearColumns(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out,
                   int64_t o_begin, int64_t o_end) {
  int64_t r = 0;
  for (; r + kRowBlock <= rows; r += kRowBlock) {
    LinearRows<kRowBlock>(x + r * in, w, y + r * out, in, out, o_begin, o_end);
  }
  for (; r < rows; ++r) LinearRows<1>(x + r * in, w, y + r * out, in, out, o_begin, o_end);
}

void MatmulRows(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out) {
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * out;
    std::fill_n(yr, out, 0.0f);
    for (int64_t k = 0; k < in; ++k) {
      const float xk = x[r * in + k];
      const float* wk = w + k * out;
      for (int64_t o = 0; o < out; ++o) yr[o] += xk * wk[o];
    }
  }
}

float Dot(const float* a, const float* b, int64_t n) {
  const int64_t n_lanes = n - n % kLanes;
  float acc[kLanes] = {};
  for (int64_t k = 0; k < n_lanes; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[k + l] * b[k + l];
  }
  float sum = Tree(acc);
  for (int64_t k = n_lanes; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

void Dots(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t heads,
          int64_t n, float* out) {
  for (int64_t h = 0; h < heads; ++h) out[h] = Dot(a + h * a_stride, b + h * b_stride, n);
}

void Axpys(const float* alpha, int64_t alpha_stride, const float* x, int64_t x_stride,
           int64_t heads, int64_t n, float* y, int64_t y_stride) {
  for (int64_t h = 0; h < heads; ++h) {
    const float a = alpha[h * alpha_stride];
    const float* xh = x + h * x_stride;
    float* yh = y + h * y_stride;
    for (int64_t e = 0; e < n; ++e) yh[e] += a * xh[e];
  }
}

void WeightedRows(const float* w, int64_t w_key_stride, int64_t w_head_stride,
                  const float* const* rows, int64_t x_stride, int64_t keys, int64_t heads,
                  int64_t n, float* y, int64_t y_stride) {
  for (int64_t k = 0; k < keys; ++k) {
    Axpys(w + k * w_key_stride, w_head_stride, rows[k], x_stride, heads, n, y, y_stride);
  }
}

}  // namespace

const VecOps& GenericVec() {
  static const VecOps kOps{.isa = "generic",
                           .linear_columns = LinearColumns,
                           .matmul_rows = MatmulRows,
                           .dots = Dots,
                           .axpys = Axpys,
                           .weighted_rows = WeightedRows};
  return kOps;
}

}  // namespace egmla::ops
