// RMSNorm over bf16 rows: one block per row, fp32 accumulation, two passes over the row (the
// second read of x comes from L1/L2). No absl here: rms_norm.cc validates and wraps the error.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/launch.h"
#include "kernels/cuda/rms_norm/rms_norm_kernel.h"
#include "kernels/cuda/shared_memory.h"

namespace egmla::ops::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kMaxThreads = 512;
constexpr int kVectorElements = 8;  // bf16 per 16-byte access
// BlockSum's per-warp partial sums: the kernel's dynamic shared memory.
constexpr size_t kSharedBytes = kMaxThreads / kWarpSize * sizeof(float);

__device__ float WarpSum(float v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

// Sum of `v` over the block, the same value in every thread, in an order fixed by blockDim.
// Called once per kernel: the partial sums are not reset for a second call.
__device__ float BlockSum(float v) {
  float* warp_sums = egmla::cuda::SharedMemory<float>();  // [kMaxThreads / kWarpSize]
  v = WarpSum(v);
  const int lane = threadIdx.x % kWarpSize;
  if (lane == 0) warp_sums[threadIdx.x / kWarpSize] = v;
  __syncthreads();
  const int num_warps = blockDim.x / kWarpSize;
  return WarpSum(lane < num_warps ? warp_sums[lane] : 0.0f);
}

template <bool kVectorized>
__global__ void __launch_bounds__(kMaxThreads) RmsNormBf16Kernel(const RmsNormParams p) {
  const int64_t row = blockIdx.x;
  const auto* x = reinterpret_cast<const __nv_bfloat16*>(p.x) + row * p.x_row_stride;
  const auto* w = reinterpret_cast<const __nv_bfloat16*>(p.weight);
  auto* y = reinterpret_cast<__nv_bfloat16*>(p.y) + row * p.y_row_stride;

  float sum_sq = 0.0f;
  if constexpr (kVectorized) {
    const int64_t num_vectors = p.width / kVectorElements;
    for (int64_t v = threadIdx.x; v < num_vectors; v += blockDim.x) {
      const uint4 raw = reinterpret_cast<const uint4*>(x)[v];
      const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
      for (int j = 0; j < kVectorElements / 2; ++j) {
        const float2 f = __bfloat1622float2(pairs[j]);
        sum_sq += f.x * f.x;
        sum_sq += f.y * f.y;
      }
    }
  } else {
    for (int64_t i = threadIdx.x; i < p.width; i += blockDim.x) {
      const float f = __bfloat162float(x[i]);
      sum_sq += f * f;
    }
  }
  // 1 / sqrtf, both IEEE-rounded, as the CPU reference computes it.
  const float rstd = 1.0f / sqrtf(BlockSum(sum_sq) / static_cast<float>(p.width) + p.eps);

  if constexpr (kVectorized) {
    const int64_t num_vectors = p.width / kVectorElements;
    for (int64_t v = threadIdx.x; v < num_vectors; v += blockDim.x) {
      const uint4 raw_x = reinterpret_cast<const uint4*>(x)[v];
      const uint4 raw_w = reinterpret_cast<const uint4*>(w)[v];
      const auto* xs = reinterpret_cast<const __nv_bfloat162*>(&raw_x);
      const auto* ws = reinterpret_cast<const __nv_bfloat162*>(&raw_w);
      uint4 raw_y;
      auto* ys = reinterpret_cast<__nv_bfloat162*>(&raw_y);
#pragma unroll
      for (int j = 0; j < kVectorElements / 2; ++j) {
        const float2 fx = __bfloat1622float2(xs[j]);
        const float2 fw = __bfloat1622float2(ws[j]);
        ys[j] = __floats2bfloat162_rn(fx.x * rstd * fw.x, fx.y * rstd * fw.y);
      }
      reinterpret_cast<uint4*>(y)[v] = raw_y;
    }
  } else {
    for (int64_t i = threadIdx.x; i < p.width; i += blockDim.x) {
      y[i] = __float2bfloat16_rn(__bfloat162float(x[i]) * rstd * __bfloat162float(w[i]));
    }
  }
}

// Threads per block (one block per row) for a row of `width` elements taken `elements_per_thread`
// at a time: a multiple of 32 in [32, 512], a function of the width alone, so every row's
// reduction order is the same whatever the number of rows (DESIGN §4 batch invariance).
int RmsNormThreadsPerBlock(int64_t width, int elements_per_thread) {
  const int64_t units = (width + elements_per_thread - 1) / elements_per_thread;
  const int64_t warps = (units + kWarpSize - 1) / kWarpSize;
  return static_cast<int>(std::clamp<int64_t>(warps * kWarpSize, kWarpSize, kMaxThreads));
}

}  // namespace

cudaError_t LaunchRmsNormBf16(const RmsNormParams& params, bool vectorized, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(params.rows));
  if (vectorized) {
    const dim3 block(RmsNormThreadsPerBlock(params.width, kVectorElements));
    return egmla::cuda::Launch(RmsNormBf16Kernel<true>, grid, block, kSharedBytes, stream, params);
  }
  const dim3 block(RmsNormThreadsPerBlock(params.width, 1));
  return egmla::cuda::Launch(RmsNormBf16Kernel<false>, grid, block, kSharedBytes, stream, params);
}

}  // namespace egmla::ops::cuda
