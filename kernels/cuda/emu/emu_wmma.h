// nvcuda::wmma on the emulator (issue 16), included by emu_prelude.h: <mma.h> declares nothing
// without nvcc. Every lane holds the whole tile, row-major in `x` whatever the fragment's layout
// (num_elements is M*N, M*K or K*N, not the per-lane count of a real device), so kernels must
// apply only element-wise, position-independent operations to `frag.x[i]`; anything that depends
// on the row or column goes through memory (store_matrix_sync, then index).
//
// Supported: matrix_a / matrix_b of __nv_bfloat16 or __half, row_major or col_major; accumulator
// of float or __half; any M, N, K (the device's shapes are 16x16x16, 32x8x16, 8x32x16). mma_sync
// accumulates in fp32, k in order, and rounds once to the accumulator's type. The operations do
// not synchronise the warp (lanes work on their own copies).
#ifndef EGMLA_KERNELS_CUDA_EMU_EMU_WMMA_H_
#define EGMLA_KERNELS_CUDA_EMU_EMU_WMMA_H_

#if !defined(__CUDACC__)

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace emu_detail {

template <typename Use, int M, int N, int K>
struct Shape;
template <int M, int N, int K>
struct Shape<matrix_a, M, N, K> {
  static constexpr int kRows = M, kCols = K;
};
template <int M, int N, int K>
struct Shape<matrix_b, M, N, K> {
  static constexpr int kRows = K, kCols = N;
};
template <int M, int N, int K>
struct Shape<accumulator, M, N, K> {
  static constexpr int kRows = M, kCols = N;
};

template <typename T>
float ToFloat(T v) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(v);
  } else if constexpr (std::is_same_v<T, __half>) {
    return __half2float(v);
  } else {
    return static_cast<float>(v);
  }
}

template <typename T>
T FromFloat(float v) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else {
    return static_cast<T>(v);
  }
}

}  // namespace emu_detail

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
class fragment {
 public:
  static constexpr int kRows = emu_detail::Shape<Use, M, N, K>::kRows;
  static constexpr int kCols = emu_detail::Shape<Use, M, N, K>::kCols;
  static constexpr int num_elements = kRows * kCols;
  using element_type = T;
  T x[num_elements];  // row-major (row * kCols + col), every lane the whole tile
};

template <typename Use, int M, int N, int K, typename T, typename Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, const T& value) {
  for (T& v : f.x) v = value;
}

// matrix_a / matrix_b: the layout is the fragment's.
template <typename Use, int M, int N, int K, typename T, typename Layout>
requires(
    std::is_same_v<Layout, row_major> ||
    std::is_same_v<Layout, col_major>) void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f,
                                                             const T* p, unsigned ldm) {
  using F = fragment<Use, M, N, K, T, Layout>;
  for (int r = 0; r < F::kRows; ++r) {
    for (int c = 0; c < F::kCols; ++c) {
      f.x[r * F::kCols + c] = std::is_same_v<Layout, row_major> ? p[r * ldm + c] : p[c * ldm + r];
    }
  }
}

template <int M, int N, int K, typename T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned ldm,
                      layout_t layout) {
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) {
      f.x[r * N + c] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
    }
  }
}

template <int M, int N, int K, typename T>
void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm,
                       layout_t layout) {
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) {
      (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[r * N + c];
    }
  }
}

// d = a * b + c, fp32 accumulation in k order; d may be c.
template <int M, int N, int K, typename TAB, typename LA, typename LB, typename TC>
void mma_sync(fragment<accumulator, M, N, K, TC>& d, const fragment<matrix_a, M, N, K, TAB, LA>& a,
              const fragment<matrix_b, M, N, K, TAB, LB>& b,
              const fragment<accumulator, M, N, K, TC>& c, bool satf = false) {
  float out[M * N];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float sum = emu_detail::ToFloat(c.x[i * N + j]);
      for (int k = 0; k < K; ++k) {
        sum += emu_detail::ToFloat(a.x[i * K + k]) * emu_detail::ToFloat(b.x[k * N + j]);
      }
      if (satf) {  // .satfinite: NaN to 0, beyond the type's largest finite value clamped
        const float limit = std::is_same_v<TC, __half> ? 65504.0f : 3.40282347e38f;
        sum = sum != sum ? 0.0f : (sum < -limit ? -limit : (sum > limit ? limit : sum));
      }
      out[i * N + j] = sum;
    }
  }
  for (int i = 0; i < M * N; ++i) d.x[i] = emu_detail::FromFloat<TC>(out[i]);
}

}  // namespace nvcuda::wmma

#endif  // !__CUDACC__

#endif  // EGMLA_KERNELS_CUDA_EMU_EMU_WMMA_H_
