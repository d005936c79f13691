// The combine kernel of egmla_decode.h: one thread per (row, head, output element) folds the
// row's splits in order with their log-sum-exp scales and applies the LayerNorm's affine part:
//   o = γ_V · (Σ_s e^(m_s-M) acc_s − Σ_s e^(m_s-M) wmu_s) / Σ_s e^(m_s-M) l_s + β_V.
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/egmla_decode/egmla_decode.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void EgMlaCombineKernel(const EgMlaCombineParams p) {
  const int64_t t = GlobalThreadIndex();
  if (t >= p.num_rows * p.num_heads * p.d_v) return;
  const int64_t e = t % p.d_v, h = (t / p.d_v) % p.num_heads, j = t / p.d_v / p.num_heads;
  const int32_t* row = p.rows + 3 * j;
  const int64_t r = row[0], first = row[1] - p.work_base, count = row[2];
  float max = -__int_as_float(0x7f800000);
  for (int64_t s = 0; s < count; ++s) {
    const float m = p.partial_stats[((first + s) * p.num_heads + h) * 3];
    max = m > max ? m : max;
  }
  float l = 0.0f, wmu = 0.0f, acc = 0.0f;
  for (int64_t s = 0; s < count; ++s) {
    const float* stats = p.partial_stats + ((first + s) * p.num_heads + h) * 3;
    const float scale = expf(stats[0] - max);
    l += stats[1] * scale;
    wmu += stats[2] * scale;
    acc += p.partial_acc[((first + s) * p.num_heads + h) * p.d_v + e] * scale;
  }
  const int64_t f = h * (p.d_nope + p.d_v) + p.d_nope + e;
  const float beta = p.beta != nullptr ? LoadBf16(p.beta, f) : 0.0f;
  StoreBf16(p.out, r * p.out_row_stride + h * p.d_v + e,
            LoadBf16(p.gamma, f) * (acc - wmu) / l + beta);
}

}  // namespace

cudaError_t LaunchEgMlaCombine(const EgMlaCombineParams& params, cudaStream_t stream) {
  const int64_t n = params.num_rows * params.num_heads * params.d_v;
  if (n <= 0) return cudaSuccess;
  return egmla::cuda::Launch(EgMlaCombineKernel, BlocksFor(n), dim3(kThreadsPerBlock), 0, stream,
                             params);
}

}  // namespace egmla::ops::cuda
