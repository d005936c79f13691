#include "kernels/cuda/add_rms_norm/add_rms_norm.h"
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void AddRmsNormKernel(const AddRmsNormParams p) {
  const int64_t i = GlobalThreadIndex();
  if (i >= p.rows) return;
  const int64_t r = p.row_index != nullptr ? p.row_index[i] : i;
  float* x = p.x + r * p.x_row_stride;
  if (p.delta != nullptr) {
    const float* delta = p.delta + r * p.delta_row_stride;
    for (int64_t k = 0; k < p.width; ++k) x[k] += delta[k];
  }
  double sum_sq = 0.0;
  for (int64_t k = 0; k < p.width; ++k) sum_sq += static_cast<double>(x[k]) * x[k];
  const float rstd = 1.0f / sqrtf(static_cast<float>(sum_sq / p.width) + p.eps);
  for (int64_t k = 0; k < p.width; ++k) {
    const float y = x[k] * rstd * LoadBf16(p.weight, k);
    if (p.out_bf16 != nullptr) StoreBf16(p.out_bf16, i * p.out_row_stride + k, y);
    if (p.out_f32 != nullptr) p.out_f32[i * p.out_row_stride + k] = y;
  }
}

}  // namespace

cudaError_t LaunchAddRmsNorm(const AddRmsNormParams& params, cudaStream_t stream) {
  if (params.rows <= 0) return cudaSuccess;
  return egmla::cuda::Launch(AddRmsNormKernel, BlocksFor(params.rows), dim3(kThreadsPerBlock), 0,
                             stream, params);
}

}  // namespace egmla::ops::cuda
