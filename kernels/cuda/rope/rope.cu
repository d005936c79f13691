#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/rope/rope.h"

namespace egmla::ops::cuda {
namespace {

__global__ void RopeKernel(const RopeParams p) {
  const int64_t half = p.rope_dim / 2;
  const int64_t t = GlobalThreadIndex();
  if (t >= p.rows * p.num_heads * half) return;
  const int64_t i = t % half, h = (t / half) % p.num_heads, r = t / half / p.num_heads;
  // The frequency in double, rounded once, as the CPU op computes it.
  const float inv_freq = static_cast<float>(
      pow(static_cast<double>(p.theta), -2.0 * static_cast<double>(i) / p.rope_dim));
  const float angle = static_cast<float>(p.positions[r]) * inv_freq;
  const float c = cosf(angle), s = sinf(angle);
  float* v = p.x + r * p.row_stride + h * p.head_stride + p.offset;
  float* a = p.interleave ? &v[2 * i] : &v[i];
  float* b = p.interleave ? &v[2 * i + 1] : &v[i + half];
  const float a0 = *a, b0 = *b;
  *a = a0 * c - b0 * s;
  *b = b0 * c + a0 * s;
}

}  // namespace

cudaError_t LaunchRope(const RopeParams& params, cudaStream_t stream) {
  const int64_t n = params.rows * params.num_heads * (params.rope_dim / 2);
  if (n <= 0) return cudaSuccess;
  return egmla::cuda::Launch(RopeKernel, BlocksFor(n), dim3(kThreadsPerBlock), 0, stream, params);
}

}  // namespace egmla::ops::cuda
