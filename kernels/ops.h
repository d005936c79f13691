// The op interface (DESIGN §6). cpu/ implements it in fp32 as the reference; cuda/ will add the
// bf16 fast path behind the same names. Every pointer is row-major with the shape in its comment.
// The CUDA ops are declared in kernels/cuda/ops_cuda.h (namespace egmla::ops::cuda, `<Op>Bf16`:
// device pointers in a params struct, a stream, an absl::Status); built when EGMLA_CUDA is ON.
//
// Batch invariance: each op computes row r of its output from row r of its inputs alone, with a
// reduction order that does not depend on the number of rows, so a request's results never
// depend on what else is in the batch (DESIGN §4).
#ifndef EGMLA_KERNELS_OPS_H_
#define EGMLA_KERNELS_OPS_H_

#include <cstdint>

namespace egmla::ops {

// y = x · wᵀ, the layout of a torch nn.Linear weight. Batch-invariant: row r of y is bitwise the
// same whatever `rows` is and whatever the other rows hold (OpenBLAS's sgemm is not: its blocking
// changes with the number of rows).
void Linear(const float* x,  // [rows, in]
            const float* w,  // [out, in]
            float* y,        // [rows, out]
            int64_t rows, int64_t in, int64_t out);

// Linear through OpenBLAS's sgemm: faster for many rows, but a row's result depends on the batch.
// Only for work done once outside the serving path (the gate tables at load time).
void LinearBulk(const float* x,  // [rows, in]
                const float* w,  // [out, in]
                float* y,        // [rows, out]
                int64_t rows, int64_t in, int64_t out);

// y = x * rsqrt(mean(x²) + eps) * w, per row. y may alias x.
void RmsNorm(const float* x,  // [rows, width]
             const float* w,  // [width]
             float* y,        // [rows, width]
             int64_t rows, int64_t width, float eps);

// y = (x - mean) * rsqrt(var + eps) * gamma + beta, biased variance, per row. y may alias x.
void LayerNorm(const float* x,      // [rows, width]
               const float* gamma,  // [width]
               const float* beta,   // [width]
               float* y,            // [rows, width]
               int64_t rows, int64_t width, float eps);

struct RopeParams {
  float* x;                  // [rows, row_stride]; rotated in place
  const int32_t* positions;  // [rows], 0-based
  int64_t rows;
  int64_t row_stride;   // floats between consecutive rows
  int64_t num_heads;    // heads per row
  int64_t head_stride;  // floats between consecutive heads within a row
  int64_t offset;       // first rotated float within a head
  int64_t rope_dim;     // r: rotated floats per head (even)
  float theta;
  bool interleave;  // true: pairs (2i, 2i+1); false: pairs (i, i + r/2)
};
// Rotates x[row, h*head_stride + offset + (0..rope_dim)] by pos * theta^(-2i/r).
void ApplyRope(const RopeParams& p);

// y = silu(gate) * up, elementwise. y may alias gate or up.
void SiluMul(const float* gate,  // [n]
             const float* up,    // [n]
             float* y,           // [n]
             int64_t n);

// In-place numerically stable softmax over `n` values.
void SoftmaxInPlace(float* x,  // [n]
                    int64_t n);

}  // namespace egmla::ops

#endif  // EGMLA_KERNELS_OPS_H_
