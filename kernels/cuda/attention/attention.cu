#include "kernels/cuda/attention/attention.h"
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__device__ const bf16* SourceAt(const KvSource& s, const AttentionParams& p, const int32_t* table,
                                int64_t j, int64_t h) {
  const int64_t row =
      s.paged ? static_cast<int64_t>(table[j / p.block_size]) * p.block_size + j % p.block_size : j;
  return s.base + row * s.row_stride + h * s.head_stride + s.offset;
}

__global__ void AttentionKernel(const AttentionParams p) {
  const int64_t t = GlobalThreadIndex();
  if (t >= p.num_queries * p.num_heads) return;
  const int64_t h = t % p.num_heads, q = t / p.num_heads;
  const int64_t r = p.rows != nullptr ? p.rows[q] : p.first_row + q;
  const float* q_a = p.q_a + r * p.q_a_row_stride + h * p.q_a_head_stride;
  const float* q_b = p.d_b > 0 ? p.q_b + r * p.q_b_row_stride + h * p.q_b_head_stride : nullptr;
  const int32_t* table =
      p.block_tables + static_cast<int64_t>(p.row_table[r]) * p.block_table_stride;
  const int64_t visible = static_cast<int64_t>(p.positions[r]) + 1;

  float acc[kAttentionMaxValueDim];
  for (int64_t k = 0; k < p.d_v; ++k) acc[k] = 0.0f;
  float max = -__int_as_float(0x7f800000), sum = 0.0f;  // -inf
  for (int64_t j = 0; j < visible; ++j) {
    const bf16* ka = SourceAt(p.key_a, p, table, j, h);
    float score = 0.0f;
    for (int64_t k = 0; k < p.d_a; ++k) score += q_a[k] * LoadBf16(ka, k);
    if (q_b != nullptr) {
      const bf16* kb = SourceAt(p.key_b, p, table, j, h);
      for (int64_t k = 0; k < p.d_b; ++k) score += q_b[k] * LoadBf16(kb, k);
    }
    score *= p.scale;
    const bf16* v = SourceAt(p.value, p, table, j, h);
    if (score > max) {  // rescale what was summed under the old maximum
      const float correction = expf(max - score);
      sum = sum * correction + 1.0f;
      for (int64_t k = 0; k < p.d_v; ++k) acc[k] = acc[k] * correction + LoadBf16(v, k);
      max = score;
    } else {
      const float weight = expf(score - max);
      sum += weight;
      for (int64_t k = 0; k < p.d_v; ++k) acc[k] += weight * LoadBf16(v, k);
    }
  }
  const float inv = 1.0f / sum;
  const int64_t at = r * p.out_row_stride + h * p.out_head_stride;
  for (int64_t k = 0; k < p.d_v; ++k) {
    if (p.out_f32 != nullptr) {
      p.out_f32[at + k] = acc[k] * inv;
    } else {
      StoreBf16(p.out_bf16, at + k, acc[k] * inv);
    }
  }
}

}  // namespace

cudaError_t LaunchAttention(const AttentionParams& params, cudaStream_t stream) {
  const int64_t n = params.num_queries * params.num_heads;
  if (n <= 0) return cudaSuccess;
  if (params.d_v > kAttentionMaxValueDim) return cudaErrorInvalidValue;
  return egmla::cuda::Launch(AttentionKernel, BlocksFor(n), dim3(kThreadsPerBlock), 0, stream,
                             params);
}

}  // namespace egmla::ops::cuda
