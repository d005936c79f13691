// fp32 reference implementation of kernels/ops.h. Linear goes through OpenBLAS.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_threads.h"
#include "kernels/ops.h"

namespace egmla::ops {

void LinearBulk(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out) {
  if (rows == 0 || out == 0) return;
  // OpenBLAS runs single-threaded (cpu_threads.h); the pool splits the rows.
  CpuPool().ParallelFor(rows, 64, [&](int64_t begin, int64_t end) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(end - begin),
                static_cast<int>(out), static_cast<int>(in), 1.0f, x + begin * in,
                static_cast<int>(in), w, static_cast<int>(in), 0.0f, y + begin * out,
                static_cast<int>(out));
  });
}

void RmsNorm(const float* x, const float* w, float* y, int64_t rows, int64_t width, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    double sum_sq = 0.0;
    for (int64_t i = 0; i < width; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const float rstd = 1.0f / std::sqrt(static_cast<float>(sum_sq / width) + eps);
    for (int64_t i = 0; i < width; ++i) yr[i] = xr[i] * rstd * w[i];
  }
}

void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
               int64_t width, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * width;
    float* yr = y + r * width;
    double sum = 0.0;
    for (int64_t i = 0; i < width; ++i) sum += xr[i];
    const double mean = sum / width;
    double sum_sq = 0.0;
    for (int64_t i = 0; i < width; ++i) sum_sq += (xr[i] - mean) * (xr[i] - mean);
    const float rstd = 1.0f / std::sqrt(static_cast<float>(sum_sq / width) + eps);
    const float mean_f = static_cast<float>(mean);
    for (int64_t i = 0; i < width; ++i) yr[i] = (xr[i] - mean_f) * rstd * gamma[i] + beta[i];
  }
}

void ApplyRope(const RopeParams& p) {
  const int64_t half = p.rope_dim / 2;
  std::vector<float> inv_freq(half);
  for (int64_t i = 0; i < half; ++i) {
    inv_freq[i] = static_cast<float>(
        std::pow(static_cast<double>(p.theta), -2.0 * static_cast<double>(i) / p.rope_dim));
  }
  for (int64_t r = 0; r < p.rows; ++r) {
    const float pos = static_cast<float>(p.positions[r]);
    for (int64_t h = 0; h < p.num_heads; ++h) {
      float* v = p.x + r * p.row_stride + h * p.head_stride + p.offset;
      for (int64_t i = 0; i < half; ++i) {
        const float angle = pos * inv_freq[i];
        const float c = std::cos(angle), s = std::sin(angle);
        float* a = p.interleave ? &v[2 * i] : &v[i];
        float* b = p.interleave ? &v[2 * i + 1] : &v[i + half];
        const float a0 = *a, b0 = *b;
        *a = a0 * c - b0 * s;
        *b = b0 * c + a0 * s;
      }
    }
  }
}

void SiluMul(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    y[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void SoftmaxInPlace(float* x, int64_t n) {
  if (n == 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace egmla::ops
