// SwiGLU of the MLP (DESIGN §3): out = silu(gate) * up, reading the fused gate/up projection's
// output row [gate (width) ; up (width)] in fp32 and writing bf16 for the down projection.
#ifndef EGMLA_KERNELS_CUDA_SWIGLU_SWIGLU_H_
#define EGMLA_KERNELS_CUDA_SWIGLU_SWIGLU_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/bf16.h"

namespace egmla::ops::cuda {

struct SwiGluParams {
  const float* gate_up = nullptr;  // [rows, in_row_stride]: gate at [0, width), up at [width, 2w)
  bf16* out = nullptr;             // [rows, out_row_stride]
  int64_t rows = 0;
  int64_t width = 0;
  int64_t in_row_stride = 0;
  int64_t out_row_stride = 0;
};

// One thread per output element.
cudaError_t LaunchSwiGlu(const SwiGluParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_SWIGLU_SWIGLU_H_
