// Row gather (DESIGN §6 kernels): out[i] = source[index(i)] for the embedding lookup, gate-table
// rows, gate embeddings, and a sequence's latents or token ids read out of the paged cache. The
// source row is index[i], or — with a block table — the cache slot of position i.
#ifndef EGMLA_KERNELS_CUDA_GATHER_ROWS_GATHER_ROWS_H_
#define EGMLA_KERNELS_CUDA_GATHER_ROWS_GATHER_ROWS_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct GatherRowsParams {
  // The source: exactly one of these.
  const bf16* source_bf16 = nullptr;    // [source rows, source_row_stride]
  const int32_t* source_i32 = nullptr;  // [source rows, source_row_stride]
  int64_t source_row_stride = 0;
  int64_t source_column = 0;  // first column read in each source row
  // Which source row output row i reads: index[i]; or, when index is null, the slot of position i
  // through block_table (block_table[i / block_size] * block_size + i % block_size).
  const int32_t* index = nullptr;        // [rows]
  const int32_t* block_table = nullptr;  // [ceil(rows / block_size)]
  int64_t block_size = 0;
  // The destination: exactly one of these, of the source's type or f32 from bf16.
  float* out_f32 = nullptr;    // [rows, out_row_stride]
  bf16* out_bf16 = nullptr;    // [rows, out_row_stride]
  int32_t* out_i32 = nullptr;  // [rows, out_row_stride]
  int64_t out_row_stride = 0;
  int64_t rows = 0;
  int64_t cols = 0;
};

// Queues the gather; returns the launch's error. rows == 0 or cols == 0 queues nothing.
cudaError_t LaunchGatherRows(const GatherRowsParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_GATHER_ROWS_GATHER_ROWS_H_
