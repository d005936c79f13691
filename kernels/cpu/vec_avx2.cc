// VecOps with AVX2 and FMA; this file alone is compiled with -mavx2 -mfma (kernels/CMakeLists).
// It includes nothing that defines inline functions other files also use, so that no
// AVX2-compiled copy of one can be picked by the linker for code that runs on any CPU.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/vec.h"

namespace egmla::ops {
namespace {

constexpr int kLanes = 8;
constexpr int kRowBlock = 4;

// ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)), as vec_generic.cc's Tree.
inline float Tree(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  // s = (a0+a4, a1+a5, a2+a6, a3+a7)
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));  // (s0+s2, s1+s3, ...)
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// y[i, o..o+C) for i < R: R rows × C columns of independent accumulators, so that the FMA
// latency is hidden (one output's sum is still one accumulator, in the order of vec.h).
template <int R, int C>
inline void LinearTile(const float* x, const float* w, float* y, int64_t in, int64_t out,
                       int64_t o) {
  const int64_t in_lanes = in - in % kLanes;
  __m256 acc[R][C];
  for (int i = 0; i < R; ++i) {
    for (int c = 0; c < C; ++c) acc[i][c] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < in_lanes; k += kLanes) {
    __m256 wk[C];
    for (int c = 0; c < C; ++c) wk[c] = _mm256_loadu_ps(w + (o + c) * in + k);
    for (int i = 0; i < R; ++i) {
      const __m256 xk = _mm256_loadu_ps(x + i * in + k);
      for (int c = 0; c < C; ++c) acc[i][c] = _mm256_fmadd_ps(xk, wk[c], acc[i][c]);
    }
  }
  for (int i = 0; i < R; ++i) {
    for (int c = 0; c < C; ++c) {
      const float* wo = w + (o + c) * in;
      float sum = Tree(acc[i][c]);
      for (int64_t k = in_lanes; k < in; ++k) sum += x[i * in + k] * wo[k];
      y[i * out + o + c] = sum;
    }
  }
}

template <int R, int C>
void LinearRows(const float* x, const float* w, float* y, int64_t in, int64_t out, int64_t o_begin,
                int64_t o_end) {
  int64_t o = o_begin;
  for (; o + C <= o_end; o += C) LinearTile<R, C>(x, w, y, in, out, o);
  for (; o < o_end; ++o) LinearTile<R, 1>(x, w, y, in, out, o);
}

void LinearColumns(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out,
                   int64_t o_begin, int64_t o_end) {
  int64_t r = 0;
  for (; r + kRowBlock <= rows; r += kRowBlock) {
    LinearRows<kRowBlock, 2>(x + r * in, w, y + r * out, in, out, o_begin, o_end);
  }
  for (; r < rows; ++r) LinearRows<1, 4>(x + r * in, w, y + r * out, in, out, o_begin, o_end);
}

// R rows × C column groups of 8: R·C accumulators; one load of w serves R rows.
template <int R, int C>
inline void MatmulBlock(const float* x, int64_t in, const float* w, float* y, int64_t out,
                        int64_t o) {
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < in; ++k) {
    const float* wk = w + k * out + o;
    __m256 wc[C];
    for (int c = 0; c < C; ++c) wc[c] = _mm256_loadu_ps(wk + c * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m256 xk = _mm256_broadcast_ss(x + r * in + k);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(xk, wc[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + r * out + o + c * kLanes, acc[r][c]);
  }
}

// Rows [r, r + R): 16-column blocks, then 8-column ones, then the scalar tail.
template <int R>
inline void MatmulRowBlock(const float* x, int64_t in, const float* w, float* y, int64_t out) {
  const int64_t out_lanes = out - out % kLanes;
  int64_t o = 0;
  for (; o + 2 * kLanes <= out_lanes; o += 2 * kLanes) MatmulBlock<R, 2>(x, in, w, y, out, o);
  for (; o < out_lanes; o += kLanes) MatmulBlock<R, 1>(x, in, w, y, out, o);
  for (; o < out; ++o) {
    for (int r = 0; r < R; ++r) {
      float sum = 0.0f;
      for (int64_t k = 0; k < in; ++k) sum = __builtin_fmaf(x[r * in + k], w[k * out + o], sum);
      y[r * out + o] = sum;
    }
  }
}

// Every output is one accumulator over k ascending, whatever block computes it: a row's result
// does not depend on the rows beside it.
void MatmulRows(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) MatmulRowBlock<4>(x + r * in, in, w, y + r * out, out);
  for (; r < rows; ++r) MatmulRowBlock<1>(x + r * in, in, w, y + r * out, out);
}

inline float Dot(const float* a, const float* b, int64_t n) {
  const int64_t n_lanes = n - n % kLanes;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t k = 0; k < n_lanes; k += kLanes) {
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc);
  }
  float sum = Tree(acc);
  for (int64_t k = n_lanes; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// G heads [h, h+G) at a time: G independent accumulators (and one load of a shared b).
template <int G>
inline void DotsGroup(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t h,
                      int64_t n, float* out) {
  const int64_t n_lanes = n - n % kLanes;
  __m256 acc[G];
  for (int t = 0; t < G; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n_lanes; k += kLanes) {
    if (b_stride == 0) {
      const __m256 bk = _mm256_loadu_ps(b + k);
      for (int t = 0; t < G; ++t) {
        acc[t] = _mm256_fmadd_ps(_mm256_loadu_ps(a + (h + t) * a_stride + k), bk, acc[t]);
      }
    } else {
      for (int t = 0; t < G; ++t) {
        acc[t] = _mm256_fmadd_ps(_mm256_loadu_ps(a + (h + t) * a_stride + k),
                                 _mm256_loadu_ps(b + (h + t) * b_stride + k), acc[t]);
      }
    }
  }
  for (int t = 0; t < G; ++t) {
    const float* at = a + (h + t) * a_stride;
    const float* bt = b + (h + t) * b_stride;
    float sum = Tree(acc[t]);
    for (int64_t k = n_lanes; k < n; ++k) sum += at[k] * bt[k];
    out[h + t] = sum;
  }
}

void Dots(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t heads,
          int64_t n, float* out) {
  int64_t h = 0;
  for (; h + 8 <= heads; h += 8) DotsGroup<8>(a, a_stride, b, b_stride, h, n, out);
  for (; h + 4 <= heads; h += 4) DotsGroup<4>(a, a_stride, b, b_stride, h, n, out);
  for (; h < heads; ++h) out[h] = Dot(a + h * a_stride, b + h * b_stride, n);
}

void Axpys(const float* alpha, int64_t alpha_stride, const float* x, int64_t x_stride,
           int64_t heads, int64_t n, float* y, int64_t y_stride) {
  const int64_t n_lanes = n - n % kLanes;
  for (int64_t h = 0; h < heads; ++h) {
    const float a = alpha[h * alpha_stride];
    const __m256 av = _mm256_set1_ps(a);
    const float* xh = x + h * x_stride;
    float* yh = y + h * y_stride;
    for (int64_t e = 0; e < n_lanes; e += kLanes) {
      _mm256_storeu_ps(yh + e,
                       _mm256_fmadd_ps(av, _mm256_loadu_ps(xh + e), _mm256_loadu_ps(yh + e)));
    }
    for (int64_t e = n_lanes; e < n; ++e) yh[e] += a * xh[e];
  }
}

// Heads in groups of 4 and 8 floats at a time, the 4 accumulators in registers for all keys.
void WeightedRows(const float* w, int64_t w_key_stride, int64_t w_head_stride,
                  const float* const* rows, int64_t x_stride, int64_t keys, int64_t heads,
                  int64_t n, float* y, int64_t y_stride) {
  const int64_t n_lanes = n - n % kLanes;
  int64_t h = 0;
  for (; h + 4 <= heads; h += 4) {
    for (int64_t e = 0; e < n_lanes; e += kLanes) {
      __m256 acc[4];
      for (int t = 0; t < 4; ++t) acc[t] = _mm256_loadu_ps(y + (h + t) * y_stride + e);
      for (int64_t k = 0; k < keys; ++k) {
        const float* wk = w + k * w_key_stride + h * w_head_stride;
        const float* xk = rows[k] + h * x_stride + e;
        for (int t = 0; t < 4; ++t) {
          acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(wk[t * w_head_stride]),
                                   _mm256_loadu_ps(xk + t * x_stride), acc[t]);
        }
      }
      for (int t = 0; t < 4; ++t) _mm256_storeu_ps(y + (h + t) * y_stride + e, acc[t]);
    }
    for (int64_t e = n_lanes; e < n; ++e) {
      for (int t = 0; t < 4; ++t) {
        float acc = y[(h + t) * y_stride + e];
        for (int64_t k = 0; k < keys; ++k) {
          acc += w[k * w_key_stride + (h + t) * w_head_stride] * rows[k][(h + t) * x_stride + e];
        }
        y[(h + t) * y_stride + e] = acc;
      }
    }
  }
  if (h < heads) {
    for (int64_t k = 0; k < keys; ++k) {
      Axpys(w + k * w_key_stride + h * w_head_stride, w_head_stride, rows[k] + h * x_stride,
            x_stride, heads - h, n, y + h * y_stride, y_stride);
    }
  }
}

}  // namespace

// Constant-initialized (no code runs to build it): reading it is safe on any CPU; vec.cc checks
// the CPU before calling through it.
constinit const VecOps kAvx2Ops{.isa = "avx2+fma",
                                .linear_columns = LinearColumns,
                                .matmul_rows = MatmulRows,
                                .dots = Dots,
                                .axpys = Axpys,
                                .weighted_rows = WeightedRows};

}  // namespace egmla::ops
