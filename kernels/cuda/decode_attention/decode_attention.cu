// The split kernel of decode_attention.h: one CTA per work item (query row, split), a warp per
// group of heads; a tile of the split's tokens is staged in shared memory (fp32) for every head,
// then each warp scores its heads against each staged token (a warp-wide dot product) and keeps
// their online softmax and accumulators in registers.
#include <algorithm>

#include "kernels/cuda/decode_attention/decode_attention.h"
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/shared_memory.h"

namespace egmla::ops::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int64_t kSharedBudgetBytes = 32 * 1024;  // the staged tile, under the 48 KiB default
constexpr int64_t kMaxTileTokens = 16;

// What one staged token holds: key_a, key_b and value, each for every head or shared.
struct Staging {
  int64_t a_heads, b_heads, v_heads;  // num_heads, or 1 for a shared vector
  int64_t a, b, v;                    // their element counts: heads * width
  int64_t per_token;                  // a + b + v
  int64_t tile;                       // tokens staged at once
};

Staging StagingFor(const DecodeAttentionParams& p) {
  Staging s{};
  s.a_heads = p.key_a.head_stride != 0 ? p.num_heads : 1;
  s.b_heads = p.key_b.head_stride != 0 ? p.num_heads : 1;
  s.v_heads = p.value.head_stride != 0 ? p.num_heads : 1;
  s.a = s.a_heads * p.d_a;
  s.b = s.b_heads * p.d_b;
  s.v = s.v_heads * p.d_v;
  s.per_token = s.a + s.b + s.v;
  s.tile = std::clamp<int64_t>(kSharedBudgetBytes / (s.per_token * 4), 1, kMaxTileTokens);
  return s;
}

int WarpsFor(int64_t num_heads) { return static_cast<int>(std::clamp<int64_t>(num_heads, 1, 32)); }

__device__ float WarpSum(float v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ float Element(const KvSource& s, int64_t slot, int64_t head, int64_t k) {
  return LoadBf16(s.base, slot * s.row_stride + head * s.head_stride + s.offset + k);
}

__global__ void DecodeAttentionKernel(const DecodeAttentionParams p, const Staging g) {
  const int64_t item = blockIdx.x;
  const int32_t* w = p.work + 3 * item;
  const int64_t r = w[0], begin = w[1], end = w[2];
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int warp = static_cast<int>(threadIdx.x) / kWarp;
  const int warps = static_cast<int>(blockDim.x) / kWarp;
  const int64_t heads_per_warp = (p.num_heads + warps - 1) / warps;
  const int64_t q_per_lane = (p.d_a + p.d_b + kWarp - 1) / kWarp;
  const int64_t v_per_lane = (p.d_v + kWarp - 1) / kWarp;
  const int32_t* table =
      p.block_tables + static_cast<int64_t>(p.row_table[r]) * p.block_table_stride;
  float* staged = egmla::cuda::SharedMemory<float>();  // [tile, per_token]

  float q[kDecodeMaxQueryPerLane];
  float acc[kDecodeMaxAccumulatorPerLane];
  float max[kDecodeMaxHeadsPerWarp], sum[kDecodeMaxHeadsPerWarp];
  for (int64_t hh = 0; hh < heads_per_warp; ++hh) {
    const int64_t h = warp + hh * warps;
    max[hh] = -__int_as_float(0x7f800000);
    sum[hh] = 0.0f;
    for (int64_t i = 0; i < q_per_lane; ++i) {
      const int64_t k = lane + kWarp * i;
      float v = 0.0f;
      if (h < p.num_heads && k < p.d_a) {
        v = p.q_a[r * p.q_a_row_stride + h * p.q_a_head_stride + k];
      } else if (h < p.num_heads && k < p.d_a + p.d_b) {
        v = p.q_b[r * p.q_b_row_stride + h * p.q_b_head_stride + k - p.d_a];
      }
      q[hh * q_per_lane + i] = v;
    }
    for (int64_t i = 0; i < v_per_lane; ++i) acc[hh * v_per_lane + i] = 0.0f;
  }

  for (int64_t t0 = begin; t0 < end; t0 += g.tile) {
    const int64_t n = end - t0 < g.tile ? end - t0 : g.tile;
    for (int64_t e = threadIdx.x; e < n * g.per_token; e += blockDim.x) {
      const int64_t j = t0 + e / g.per_token, x = e % g.per_token;
      const int64_t slot =
          static_cast<int64_t>(table[j / p.block_size]) * p.block_size + j % p.block_size;
      float v;
      if (x < g.a) {
        v = Element(p.key_a, slot, x / p.d_a, x % p.d_a);
      } else if (x < g.a + g.b) {
        v = Element(p.key_b, slot, (x - g.a) / p.d_b, (x - g.a) % p.d_b);
      } else {
        v = Element(p.value, slot, (x - g.a - g.b) / p.d_v, (x - g.a - g.b) % p.d_v);
      }
      staged[e] = v;
    }
    __syncthreads();
    for (int64_t t = 0; t < n; ++t) {
      const float* ka = staged + t * g.per_token;
      const float* kb = ka + g.a;
      const float* vv = kb + g.b;
      for (int64_t hh = 0; hh < heads_per_warp; ++hh) {
        const int64_t h = warp + hh * warps;
        if (h >= p.num_heads) break;  // the same for every lane of the warp
        const float* a_row = ka + (g.a_heads > 1 ? h : 0) * p.d_a;
        const float* b_row = kb + (g.b_heads > 1 ? h : 0) * p.d_b;
        const float* v_row = vv + (g.v_heads > 1 ? h : 0) * p.d_v;
        float partial = 0.0f;
        for (int64_t i = 0; i < q_per_lane; ++i) {
          const int64_t k = lane + kWarp * i;
          if (k < p.d_a) {
            partial += q[hh * q_per_lane + i] * a_row[k];
          } else if (k < p.d_a + p.d_b) {
            partial += q[hh * q_per_lane + i] * b_row[k - p.d_a];
          }
        }
        const float score = WarpSum(partial) * p.scale;
        float* a = acc + hh * v_per_lane;
        if (score > max[hh]) {  // rescale what was summed under the old maximum
          const float correction = expf(max[hh] - score);
          sum[hh] = sum[hh] * correction + 1.0f;
          for (int64_t i = 0; i < v_per_lane; ++i) {
            const int64_t k = lane + kWarp * i;
            a[i] = a[i] * correction + (k < p.d_v ? v_row[k] : 0.0f);
          }
          max[hh] = score;
        } else {
          const float weight = expf(score - max[hh]);
          sum[hh] += weight;
          for (int64_t i = 0; i < v_per_lane; ++i) {
            const int64_t k = lane + kWarp * i;
            if (k < p.d_v) a[i] += weight * v_row[k];
          }
        }
      }
    }
    __syncthreads();  // the next tile overwrites the staged tokens
  }

  for (int64_t hh = 0; hh < heads_per_warp; ++hh) {
    const int64_t h = warp + hh * warps;
    if (h >= p.num_heads) break;
    for (int64_t i = 0; i < v_per_lane; ++i) {
      const int64_t k = lane + kWarp * i;
      if (k < p.d_v) p.partial_out[(item * p.num_heads + h) * p.d_v + k] = acc[hh * v_per_lane + i];
    }
    if (lane == 0) {
      p.partial_ml[(item * p.num_heads + h) * 2] = max[hh];
      p.partial_ml[(item * p.num_heads + h) * 2 + 1] = sum[hh];
    }
  }
}

}  // namespace

bool DecodeAttentionFits(int64_t num_heads, int64_t d_a, int64_t d_b, int64_t d_v) {
  if (num_heads < 1 || d_a < 1 || d_v < 1 || d_b < 0) return false;
  const int64_t warps = WarpsFor(num_heads);
  const int64_t heads_per_warp = (num_heads + warps - 1) / warps;
  const int64_t q_per_lane = (d_a + d_b + kWarp - 1) / kWarp;
  const int64_t v_per_lane = (d_v + kWarp - 1) / kWarp;
  // The worst staging: every part per head.
  const int64_t per_token_bytes = num_heads * (d_a + d_b + d_v) * 4;
  return heads_per_warp <= kDecodeMaxHeadsPerWarp &&
         heads_per_warp * q_per_lane <= kDecodeMaxQueryPerLane &&
         heads_per_warp * v_per_lane <= kDecodeMaxAccumulatorPerLane &&
         per_token_bytes <= 48 * 1024;
}

cudaError_t LaunchDecodeAttention(const DecodeAttentionParams& params, cudaStream_t stream) {
  if (params.num_work <= 0) return cudaSuccess;
  if (!DecodeAttentionFits(params.num_heads, params.d_a, params.d_b, params.d_v)) {
    return cudaErrorInvalidValue;
  }
  const Staging g = StagingFor(params);
  const dim3 block(static_cast<unsigned>(kWarp * WarpsFor(params.num_heads)));
  const size_t shared = static_cast<size_t>(g.tile * g.per_token) * sizeof(float);
  return egmla::cuda::Launch(DecodeAttentionKernel, dim3(static_cast<unsigned>(params.num_work)),
                             block, shared, stream, params, g);
}

}  // namespace egmla::ops::cuda
