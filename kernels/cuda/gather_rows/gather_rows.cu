// One thread per output element.
#include "kernels/cuda/device_util.h"
#include "kernels/cuda/gather_rows/gather_rows.h"
#include "kernels/cuda/launch.h"

namespace egmla::ops::cuda {
namespace {

__global__ void GatherRowsKernel(const GatherRowsParams p) {
  const int64_t t = GlobalThreadIndex();
  if (t >= p.rows * p.cols) return;
  const int64_t i = t / p.cols, col = t % p.cols;
  const int64_t row =
      p.index != nullptr
          ? p.index[i]
          : static_cast<int64_t>(p.block_table[i / p.block_size]) * p.block_size + i % p.block_size;
  const int64_t from = row * p.source_row_stride + p.source_column + col;
  const int64_t to = i * p.out_row_stride + col;
  if (p.source_i32 != nullptr) {
    p.out_i32[to] = p.source_i32[from];
  } else if (p.out_f32 != nullptr) {
    p.out_f32[to] = LoadBf16(p.source_bf16, from);
  } else {
    p.out_bf16[to] = p.source_bf16[from];
  }
}

}  // namespace

cudaError_t LaunchGatherRows(const GatherRowsParams& params, cudaStream_t stream) {
  if (params.rows <= 0 || params.cols <= 0) return cudaSuccess;
  return egmla::cuda::Launch(GatherRowsKernel, BlocksFor(params.rows * params.cols),
                             dim3(kThreadsPerBlock), 0, stream, params);
}

}  // namespace egmla::ops::cuda
