// CUDA and cuBLAS errors as absl::Status, naming the call site:
//
//   EGMLA_CUDA_RETURN_IF_ERROR(cudaMalloc(&data, bytes));
//   → RESOURCE_EXHAUSTED "kernels/cuda/runtime/device_buffer.cc:40: cudaMalloc(&data, bytes)
//     failed: cudaErrorMemoryAllocation: out of memory"
//
// For host C++ (.cc) only: .cu files stay free of absl and return plain cudaError_t, which the
// host side wraps with these macros.
#ifndef EGMLA_KERNELS_CUDA_RUNTIME_CUDA_STATUS_H_
#define EGMLA_KERNELS_CUDA_RUNTIME_CUDA_STATUS_H_

#include <cuda_runtime_api.h>

#include <string>

#include "absl/status/status.h"

namespace egmla::cuda {

// "cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version".
std::string CudaErrorDescription(cudaError_t error);

// Maps `error` to a Status whose message is "FILE:LINE: EXPR failed: NAME: DESCRIPTION", FILE
// relative to the source root. Codes: out of memory → RESOURCE_EXHAUSTED; invalid arguments,
// handles and devices → INVALID_ARGUMENT; no device or driver → UNAVAILABLE; no kernel image or
// unsupported → UNIMPLEMENTED; anything else → INTERNAL.
// REQUIRES: error != cudaSuccess.
absl::Status CudaErrorToStatus(cudaError_t error, const char* expr, const char* file, int line);

// As above for a cublasStatus_t, passed as its integer value so that this header needs no cuBLAS
// include. REQUIRES: status != CUBLAS_STATUS_SUCCESS (0).
absl::Status CublasErrorToStatus(int status, const char* expr, const char* file, int line);

// `file` without the source root, so messages read "kernels/cuda/x.cc:12" wherever it was built.
const char* SourceRelativePath(const char* file);

}  // namespace egmla::cuda

// Evaluates `expr` (a cudaError_t) once; on failure returns the Status from the enclosing function.
// It also clears the runtime's last-error slot (cudaGetLastError), so that the error, now carried
// by the Status, is not reported again by a later launch check. Sticky errors (a kernel fault)
// cannot be cleared: every later call reports them.
#define EGMLA_CUDA_RETURN_IF_ERROR(expr)                                                     \
  do {                                                                                       \
    const cudaError_t egmla_cuda_error_ = (expr);                                            \
    if (egmla_cuda_error_ != cudaSuccess) {                                                  \
      (void)cudaGetLastError();                                                              \
      return ::egmla::cuda::CudaErrorToStatus(egmla_cuda_error_, #expr, __FILE__, __LINE__); \
    }                                                                                        \
  } while (0)

// Evaluates `expr` (a cublasStatus_t) once; on failure returns the Status from the enclosing
// function.
#define EGMLA_CUBLAS_RETURN_IF_ERROR(expr)                                                        \
  do {                                                                                            \
    const int egmla_cublas_status_ = static_cast<int>(expr);                                      \
    if (egmla_cublas_status_ != 0) {                                                              \
      return ::egmla::cuda::CublasErrorToStatus(egmla_cublas_status_, #expr, __FILE__, __LINE__); \
    }                                                                                             \
  } while (0)

#endif  // EGMLA_KERNELS_CUDA_RUNTIME_CUDA_STATUS_H_
