// The combine kernel of decode_attention.h: one thread per (row, head, output element) folds the
// row's splits in order: M = max m_s, L = Σ l_s e^(m_s - M), out = Σ o_s e^(m_s - M) / L.
#include "kernels/cuda/decode_attention/decode_attention.h"
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void DecodeCombineKernel(const DecodeCombineParams p) {
  const int64_t t = GlobalThreadIndex();
  if (t >= p.num_rows * p.num_heads * p.d_v) return;
  const int64_t k = t % p.d_v, h = (t / p.d_v) % p.num_heads, j = t / p.d_v / p.num_heads;
  const int32_t* row = p.rows + 3 * j;
  const int64_t r = row[0], first = row[1] - p.work_base, count = row[2];
  float max = -__int_as_float(0x7f800000);
  for (int64_t s = 0; s < count; ++s) {
    const float m = p.partial_ml[((first + s) * p.num_heads + h) * 2];
    max = m > max ? m : max;
  }
  float sum = 0.0f, out = 0.0f;
  for (int64_t s = 0; s < count; ++s) {
    const float* ml = p.partial_ml + ((first + s) * p.num_heads + h) * 2;
    const float scale = expf(ml[0] - max);
    sum += ml[1] * scale;
    out += p.partial_out[((first + s) * p.num_heads + h) * p.d_v + k] * scale;
  }
  const int64_t at = r * p.out_row_stride + h * p.out_head_stride + k;
  if (p.out_f32 != nullptr) {
    p.out_f32[at] = out / sum;
  } else {
    StoreBf16(p.out_bf16, at, out / sum);
  }
}

}  // namespace

cudaError_t LaunchDecodeCombine(const DecodeCombineParams& params, cudaStream_t stream) {
  const int64_t n = params.num_rows * params.num_heads * params.d_v;
  if (n <= 0) return cudaSuccess;
  return egmla::cuda::Launch(DecodeCombineKernel, BlocksFor(n), dim3(kThreadsPerBlock), 0, stream,
                             params);
}

}  // namespace egmla::ops::cuda
