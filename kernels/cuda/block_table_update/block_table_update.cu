#include "kernels/cuda/block_table_update/block_table_update.h"
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void BlockTableUpdateKernel(const BlockTableUpdateParams p) {
  const int64_t u = GlobalThreadIndex();
  if (u >= p.num_updates) return;
  const int32_t* t = p.updates + u * 3;
  p.block_tables[static_cast<int64_t>(t[0]) * p.block_table_stride + t[1]] = t[2];
}

}  // namespace

cudaError_t LaunchBlockTableUpdate(const BlockTableUpdateParams& params, cudaStream_t stream) {
  if (params.num_updates <= 0) return cudaSuccess;
  return egmla::cuda::Launch(BlockTableUpdateKernel, BlocksFor(params.num_updates),
                             dim3(kThreadsPerBlock), 0, stream, params);
}

}  // namespace egmla::ops::cuda
