#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/linear/linear.h"

namespace egmla::ops::cuda {
namespace {

constexpr int64_t kOutputsPerThread = 8;

__global__ void LinearKernel(const LinearParams p) {
  const int64_t groups = (p.out + kOutputsPerThread - 1) / kOutputsPerThread;
  const int64_t t = GlobalThreadIndex();
  if (t >= p.rows * groups) return;
  const int64_t r = t / groups, n0 = t % groups * kOutputsPerThread;
  const int64_t n_end = n0 + kOutputsPerThread < p.out ? n0 + kOutputsPerThread : p.out;
  const bf16* x = p.x + r * p.x_row_stride;
  float acc[kOutputsPerThread] = {};
  for (int64_t k = 0; k < p.in; ++k) {
    const float xk = LoadBf16(x, k);
    for (int64_t n = n0; n < n_end; ++n) acc[n - n0] += xk * LoadBf16(p.w, n * p.in + k);
  }
  for (int64_t n = n0; n < n_end; ++n) {
    if (p.y_f32 != nullptr) {
      p.y_f32[r * p.y_row_stride + n] = acc[n - n0];
    } else {
      StoreBf16(p.y_bf16, r * p.y_row_stride + n, acc[n - n0]);
    }
  }
}

}  // namespace

cudaError_t LaunchLinear(const LinearParams& params, cudaStream_t stream) {
  const int64_t groups = (params.out + kOutputsPerThread - 1) / kOutputsPerThread;
  if (params.rows <= 0 || groups <= 0) return cudaSuccess;
  return egmla::cuda::Launch(LinearKernel, BlocksFor(params.rows * groups), dim3(kThreadsPerBlock),
                             0, stream, params);
}

}  // namespace egmla::ops::cuda
