// Writes the step's new cache rows through the slot mapping (DESIGN §3.2): row i goes to slot
// slot_mapping[i] of a layer's paged cache [num_blocks * block_size, cache_row_stride], in bf16:
// its first part (mla/eg_mla: [c ; k_R]; mha: K) at column 0 and an optional second part (mha: V)
// right after. eg_mla up_projected also keeps, per slot, the token id (once, at layer 0) and the
// layer's LayerNorm statistics (μ, rstd) in fp32.
#ifndef EGMLA_KERNELS_CUDA_CACHE_WRITE_CACHE_WRITE_H_
#define EGMLA_KERNELS_CUDA_CACHE_WRITE_CACHE_WRITE_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct CacheWriteParams {
  const float* first = nullptr;  // [rows, first_row_stride], the first first_width of each row
  int64_t first_row_stride = 0;
  int64_t first_width = 0;
  const float* second = nullptr;  // [rows, second_row_stride] or null
  int64_t second_row_stride = 0;
  int64_t second_width = 0;
  const int32_t* slot_mapping = nullptr;  // [rows]
  bf16* cache = nullptr;                  // [slots, cache_row_stride]
  int64_t cache_row_stride = 0;
  // eg_mla up_projected, else null.
  const float* ln_mean = nullptr;      // [rows]
  const float* ln_rstd = nullptr;      // [rows]
  float* cache_ln_stats = nullptr;     // [slots, 2]: (μ, rstd)
  const int32_t* token_ids = nullptr;  // [rows]
  int32_t* cache_token_ids = nullptr;  // [slots]; null to leave the ids
  int64_t rows = 0;
};

// One thread per written element.
cudaError_t LaunchCacheWrite(const CacheWriteParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_CACHE_WRITE_CACHE_WRITE_H_
