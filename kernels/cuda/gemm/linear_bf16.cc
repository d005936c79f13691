// LinearBf16 (ops_cuda.h) through cublasGemmEx. cuBLAS is column-major: the row-major
// y[rows, out] = x[rows, in] · w[out, in]ᵀ is, read column-major, yᵀ[out, rows] = w · xᵀ, where w
// is the column-major [in, out] matrix transposed (CUBLAS_OP_T, lda = in) and x the column-major
// [in, rows] matrix as is (CUBLAS_OP_N, ldb = in); ldc = out.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/ops_cuda.h"
#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::ops::cuda {
namespace {

absl::Status Check(const LinearBf16Params& p) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  for (const auto& [name, value] :
       {std::pair<const char*, int64_t>{"rows", p.rows}, {"in", p.in}, {"out", p.out}}) {
    if (value < 0 || value > kMax) {
      return absl::InvalidArgumentError(
          absl::StrCat("LinearBf16: ", name, " ", value, " outside [0, 2^31 - 1]"));
    }
  }
  if (p.rows > 0 && p.out > 0 &&
      (p.y == nullptr || (p.in > 0 && (p.x == nullptr || p.w == nullptr)))) {
    return absl::InvalidArgumentError("LinearBf16: x, w and y must not be null");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LinearBf16(const egmla::cuda::BlasHandle& blas, const LinearBf16Params& params,
                        egmla::cuda::StreamHandle stream) {
  if (absl::Status s = Check(params); !s.ok()) return s;
  if (params.rows == 0 || params.out == 0) return absl::OkStatus();
  if (params.in == 0) {  // an empty sum: cuBLAS refuses lda = 0
    EGMLA_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(
        params.y, 0, static_cast<size_t>(params.rows * params.out) * sizeof(bf16), stream));
    return absl::OkStatus();
  }
  const int rows = static_cast<int>(params.rows);
  const int in = static_cast<int>(params.in);
  const int out = static_cast<int>(params.out);
  const float alpha = 1.0f, beta = 0.0f;
  EGMLA_CUBLAS_RETURN_IF_ERROR(cublasSetStream(blas.get(), stream));
  EGMLA_CUBLAS_RETURN_IF_ERROR(cublasGemmEx(blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in,
                                            &alpha, params.w, CUDA_R_16BF, in, params.x,
                                            CUDA_R_16BF, in, &beta, params.y, CUDA_R_16BF, out,
                                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return absl::OkStatus();
}

}  // namespace egmla::ops::cuda
