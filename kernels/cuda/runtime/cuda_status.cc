#include "kernels/cuda/runtime/cuda_status.h"

#include <cublas_api.h>

#include <string_view>

#include "absl/strings/str_cat.h"

#ifndef EGMLA_SOURCE_ROOT
#define EGMLA_SOURCE_ROOT ""
#endif

namespace egmla::cuda {
namespace {

absl::StatusCode CudaCode(cudaError_t error) {
  switch (error) {
    case cudaErrorMemoryAllocation:
      return absl::StatusCode::kResourceExhausted;
    case cudaErrorInvalidValue:
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidDevice:
    case cudaErrorInvalidDevicePointer:
    case cudaErrorInvalidPitchValue:
    case cudaErrorInvalidMemcpyDirection:
    case cudaErrorInvalidResourceHandle:
      return absl::StatusCode::kInvalidArgument;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorDevicesUnavailable:
      return absl::StatusCode::kUnavailable;
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorNotSupported:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInternal;
  }
}

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

const char* SourceRelativePath(const char* file) {
  const std::string_view root = EGMLA_SOURCE_ROOT;
  const std::string_view path = file;
  if (!root.empty() && path.starts_with(root)) return file + root.size();
  return file;
}

std::string CudaErrorDescription(cudaError_t error) {
  return absl::StrCat(cudaGetErrorName(error), ": ", cudaGetErrorString(error));
}

absl::Status CudaErrorToStatus(cudaError_t error, const char* expr, const char* file, int line) {
  return absl::Status(CudaCode(error), absl::StrCat(SourceRelativePath(file), ":", line, ": ", expr,
                                                    " failed: ", CudaErrorDescription(error)));
}

absl::Status CublasErrorToStatus(int status, const char* expr, const char* file, int line) {
  const auto cublas_status = static_cast<cublasStatus_t>(status);
  return absl::Status(CublasCode(cublas_status),
                      absl::StrCat(SourceRelativePath(file), ":", line, ": ", expr,
                                   " failed: ", cublasGetStatusName(cublas_status), ": ",
                                   cublasGetStatusString(cublas_status)));
}

}  // namespace egmla::cuda
