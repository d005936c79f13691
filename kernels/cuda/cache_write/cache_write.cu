#include "kernels/cuda/cache_write/cache_write.h"
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void CacheWriteKernel(const CacheWriteParams p) {
  const int64_t width = p.first_width + p.second_width;
  const int64_t t = GlobalThreadIndex();
  if (t >= p.rows * width) return;
  const int64_t i = t / width, k = t % width;
  const int64_t slot = p.slot_mapping[i];
  const float v = k < p.first_width ? p.first[i * p.first_row_stride + k]
                                    : p.second[i * p.second_row_stride + k - p.first_width];
  StoreBf16(p.cache, slot * p.cache_row_stride + k, v);
  if (k != 0) return;
  if (p.cache_ln_stats != nullptr) {
    p.cache_ln_stats[slot * 2] = p.ln_mean[i];
    p.cache_ln_stats[slot * 2 + 1] = p.ln_rstd[i];
  }
  if (p.cache_token_ids != nullptr) p.cache_token_ids[slot] = p.token_ids[i];
}

}  // namespace

cudaError_t LaunchCacheWrite(const CacheWriteParams& params, cudaStream_t stream) {
  const int64_t n = params.rows * (params.first_width + params.second_width);
  if (n <= 0) return cudaSuccess;
  return egmla::cuda::Launch(CacheWriteKernel, BlocksFor(n), dim3(kThreadsPerBlock), 0, stream,
                             params);
}

}  // namespace egmla::ops::cuda
