#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/swiglu/swiglu.h"

namespace egmla::ops::cuda {
namespace {

__global__ void SwiGluKernel(const SwiGluParams p) {
  const int64_t t = GlobalThreadIndex();
  if (t >= p.rows * p.width) return;
  const int64_t r = t / p.width, k = t % p.width;
  const float* row = p.gate_up + r * p.in_row_stride;
  const float g = row[k];
  StoreBf16(p.out, r * p.out_row_stride + k, g / (1.0f + expf(-g)) * row[p.width + k]);
}

}  // namespace

cudaError_t LaunchSwiGlu(const SwiGluParams& params, cudaStream_t stream) {
  if (params.rows <= 0 || params.width <= 0) return cudaSuccess;
  return egmla::cuda::Launch(SwiGluKernel, BlocksFor(params.rows * params.width),
                             dim3(kThreadsPerBlock), 0, stream, params);
}

}  // namespace egmla::ops::cuda
