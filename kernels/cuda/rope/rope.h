// Rotary position embedding in place (ops::ApplyRope's semantics, both layouts): rotates
// x[row, h*head_stride + offset + (0..rope_dim)] by position * theta^(-2i/rope_dim), the pairs
// (2i, 2i+1) when interleaved, else (i, i + rope_dim/2).
#ifndef EGMLA_KERNELS_CUDA_ROPE_ROPE_H_
#define EGMLA_KERNELS_CUDA_ROPE_ROPE_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace egmla::ops::cuda {

struct RopeParams {
  float* x = nullptr;                  // [rows, row_stride]
  const int32_t* positions = nullptr;  // [rows], 0-based
  int64_t rows = 0;
  int64_t row_stride = 0;
  int64_t num_heads = 0;
  int64_t head_stride = 0;
  int64_t offset = 0;    // first rotated float within a head
  int64_t rope_dim = 0;  // even
  float theta = 10000.0f;
  bool interleave = true;
};

// One thread per rotated pair.
cudaError_t LaunchRope(const RopeParams& params, cudaStream_t stream);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_ROPE_ROPE_H_
