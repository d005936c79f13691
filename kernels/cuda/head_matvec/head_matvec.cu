#include "kernels/cuda/device_util.h"
#include "kernels/cuda/head_matvec/head_matvec.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void HeadMatvecKernel(const HeadMatvecParams p) {
  const int64_t t = GlobalThreadIndex();
  if (t >= p.num_rows * p.num_heads * p.out) return;
  const int64_t i = t % p.out, h = (t / p.out) % p.num_heads, j = t / p.out / p.num_heads;
  const int64_t r = p.rows[j];
  const float* x = p.x + r * p.x_row_stride + h * p.x_head_stride;
  const bf16* w = p.w + h * p.w_head_stride + i * p.w_out_stride;
  float acc = 0.0f;
  for (int64_t k = 0; k < p.in; ++k) acc += x[k] * LoadBf16(w, k * p.w_in_stride);
  const int64_t at = r * p.out_row_stride + h * p.out_head_stride + i;
  if (p.out_f32 != nullptr) {
    p.out_f32[at] = acc;
  } else {
    StoreBf16(p.out_bf16, at, acc);
  }
}

}  // namespace

cudaError_t LaunchHeadMatvec(const HeadMatvecParams& params, cudaStream_t stream) {
  const int64_t n = params.num_rows * params.num_heads * params.out;
  if (n <= 0) return cudaSuccess;
  return egmla::cuda::Launch(HeadMatvecKernel, BlocksFor(n), dim3(kThreadsPerBlock), 0, stream,
                             params);
}

}  // namespace egmla::ops::cuda
