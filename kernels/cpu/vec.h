// The CPU's vector inner loops, chosen once per process: AVX2 with FMA where the CPU has them
// (vec_avx2.cc, compiled with -mavx2 -mfma), else portable C++ (vec_generic.cc).
//
// Every function but matmul_rows sums in one fixed order that depends only on the length n:
// products go to 8 partial sums by index mod 8 (one AVX2 register), the partials are added in the
// tree
// ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7)), then the n mod 8 tail in index order. So a result never
// depends on the batch, the chunking or the thread count (DESIGN §4); the AVX2 path fuses the
// multiply-adds, so the two paths differ in the last bits, but a process uses one of them.
#ifndef EGMLA_KERNELS_CPU_VEC_H_
#define EGMLA_KERNELS_CPU_VEC_H_

#include <cstdint>

namespace egmla::ops {

struct VecOps {
  const char* isa;  // "avx2+fma" or "generic"

  // y[r, o] = x[r, :] · w[o, :] for every row r < rows and column o in [o_begin, o_end).
  void (*linear_columns)(const float* x,  // [rows, in]
                         const float* w,  // [out, in]
                         float* y,        // [rows, out]
                         int64_t rows, int64_t in, int64_t out, int64_t o_begin, int64_t o_end);

  // y[r, o] = Σ_k x[r, k]·w[k, o] for every row r < rows and column o < out: w in [in, out]
  // layout, each output one accumulator over k in ascending order (unlike linear_columns' 8
  // partial sums): outer-product form, for small products whose inner dimension is short.
  void (*matmul_rows)(const float* x,  // [rows, in]
                      const float* w,  // [in, out]
                      float* y,        // [rows, out]
                      int64_t rows, int64_t in, int64_t out);

  // out[h] = a[h*a_stride : +n] · b[h*b_stride : +n] for h < heads (b_stride 0: one b shared).
  void (*dots)(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t heads,
               int64_t n, float* out);

  // y[h*y_stride + e] += alpha[h*alpha_stride] * x[h*x_stride + e] for h < heads, e < n.
  void (*axpys)(const float* alpha, int64_t alpha_stride, const float* x, int64_t x_stride,
                int64_t heads, int64_t n, float* y, int64_t y_stride);

  // For k = 0, 1, ..., keys - 1 in turn: the axpys above with alpha = w + k*w_key_stride (head
  // stride w_head_stride) and x = rows[k] (head stride x_stride). The same arithmetic, with the
  // accumulators held in registers across the keys.
  void (*weighted_rows)(const float* w, int64_t w_key_stride, int64_t w_head_stride,
                        const float* const* rows, int64_t x_stride, int64_t keys, int64_t heads,
                        int64_t n, float* y, int64_t y_stride);
};

// The process's choice (fixed at the first call), unless a test has set another.
const VecOps& Vec();

// Tests only: makes Vec() return `ops` (null: the process's choice again). REQUIRES: no op runs
// meanwhile.
void SetVecForTesting(const VecOps* ops);

// Both implementations, for tests.
const VecOps& GenericVec();
// Null when the CPU lacks AVX2 or FMA.
const VecOps* Avx2Vec();

// vec_avx2.cc's table. REQUIRES: the CPU has AVX2 and FMA before calling through it.
extern const VecOps kAvx2Ops;

}  // namespace egmla::ops

#endif  // EGMLA_KERNELS_CPU_VEC_H_
