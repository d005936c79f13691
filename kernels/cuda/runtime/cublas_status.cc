// CublasErrorToStatus (cuda_status.h), apart from the CUDA runtime's half so that only programs
// that use cuBLAS link it (egmla_kernels_cuda_blas).
#include <cublas_api.h>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::cuda {
namespace {

absl::StatusCode CublasCode(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_ALLOC_FAILED:
      return absl::StatusCode::kResourceExhausted;
    case CUBLAS_STATUS_INVALID_VALUE:
      return absl::StatusCode::kInvalidArgument;
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return absl::StatusCode::kFailedPrecondition;
    case CUBLAS_STATUS_ARCH_MISMATCH:
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

absl::Status CublasErrorToStatus(int status, const char* expr, const char* file, int line) {
  const auto cublas_status = static_cast<cublasStatus_t>(status);
  return absl::Status(CublasCode(cublas_status),
                      absl::StrCat(SourceRelativePath(file), ":", line, ": ", expr,
                                   " failed: ", cublasGetStatusName(cublas_status), ": ",
                                   cublasGetStatusString(cublas_status)));
}

}  // namespace egmla::cuda
