#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/layer_norm/layer_norm.h"

namespace egmla::ops::cuda {
namespace {

__global__ void LayerNormKernel(const LayerNormParams p) {
  const int64_t r = GlobalThreadIndex();
  if (r >= p.rows) return;
  const float* x = p.x + r * p.x_row_stride;
  const float* g = p.gate != nullptr ? p.gate + r * p.gate_row_stride : nullptr;
  auto v = [&](int64_t k) { return g != nullptr ? x[k] * g[k] : x[k]; };
  double sum = 0.0;
  for (int64_t k = 0; k < p.width; ++k) sum += v(k);
  const double mean = sum / p.width;
  double sum_sq = 0.0;
  for (int64_t k = 0; k < p.width; ++k) sum_sq += (v(k) - mean) * (v(k) - mean);
  const float rstd = 1.0f / sqrtf(static_cast<float>(sum_sq / p.width) + p.eps);
  const float mean_f = static_cast<float>(mean);
  if (p.mean != nullptr) p.mean[r] = mean_f;
  if (p.rstd != nullptr) p.rstd[r] = rstd;
  if (p.out_f32 == nullptr && p.out_bf16 == nullptr) return;
  for (int64_t k = 0; k < p.width; ++k) {
    const float y = (v(k) - mean_f) * rstd * LoadBf16(p.gamma, k) + LoadBf16(p.beta, k);
    if (p.out_bf16 != nullptr) StoreBf16(p.out_bf16, r * p.out_row_stride + k, y);
    if (p.out_f32 != nullptr) p.out_f32[r * p.out_row_stride + k] = y;
  }
}

}  // namespace

cudaError_t LaunchLayerNorm(const LayerNormParams& params, cudaStream_t stream) {
  if (params.rows <= 0) return cudaSuccess;
  return egmla::cuda::Launch(LayerNormKernel, BlocksFor(params.rows), dim3(kThreadsPerBlock), 0,
                             stream, params);
}

}  // namespace egmla::ops::cuda
