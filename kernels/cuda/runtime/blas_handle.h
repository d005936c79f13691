// An owned cuBLAS handle. Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_RUNTIME_BLAS_HANDLE_H_
#define EGMLA_KERNELS_CUDA_RUNTIME_BLAS_HANDLE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// cublasHandle_t is `cublasContext*`; naming it here keeps cuBLAS headers out of callers.
struct cublasContext;

namespace egmla::cuda {

// Move-only owner of a cuBLAS handle on the current device, with reduced-precision reductions
// disallowed (split-K partial sums stay fp32 even when the output is bf16). Threading: one thread
// at a time (the ops set the handle's stream per call).
class BlasHandle {
 public:
  // Without a device or driver: FAILED_PRECONDITION naming cublasCreate.
  static absl::StatusOr<BlasHandle> Create();

  BlasHandle(BlasHandle&& other) noexcept;
  BlasHandle& operator=(BlasHandle&& other) noexcept;
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;
  ~BlasHandle();

  cublasContext* get() const { return handle_; }

 private:
  explicit BlasHandle(cublasContext* handle) : handle_(handle) {}
  void Reset();

  cublasContext* handle_ = nullptr;
};

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_RUNTIME_BLAS_HANDLE_H_
