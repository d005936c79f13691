#include "kernels/cuda/runtime/cuda_status.h"

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

}  // namespace egmla::cuda
