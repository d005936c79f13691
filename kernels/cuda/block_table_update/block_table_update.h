// Applies a step's new block ids to the block tables kept on the device (DESIGN §3.2): the
// tables are never re-sent whole; each step carries only (table row, index, block id) triples,
// packed with the step's other inputs.
#ifndef EGMLA_KERNELS_CUDA_BLOCK_TABLE_UPDATE_BLOCK_TABLE_UPDATE_H_
#define EGMLA_KERNELS_CUDA_BLOCK_TABLE_UPDATE_BLOCK_TABLE_UPDATE_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace egmla::ops::cuda {

struct BlockTableUpdateParams {
  const int32_t* updates = nullptr;  // [num_updates, 3]: (table row, index in the row, block id)
  int64_t num_updates = 0;
  int32_t* block_tables = nullptr;  // [table rows, block_table_stride]
  int64_t block_table_stride = 0;
};

// One thread per update.
cudaError_t LaunchBlockTableUpdate(const BlockTableUpdateParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_BLOCK_TABLE_UPDATE_BLOCK_TABLE_UPDATE_H_
