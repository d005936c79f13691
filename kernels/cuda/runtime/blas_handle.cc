#include "kernels/cuda/runtime/blas_handle.h"

#include <cublas_v2.h>

#include <utility>

#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::cuda {

absl::StatusOr<BlasHandle> BlasHandle::Create() {
  cublasHandle_t handle = nullptr;
  EGMLA_CUBLAS_RETURN_IF_ERROR(cublasCreate(&handle));
  BlasHandle owned(handle);
  EGMLA_CUBLAS_RETURN_IF_ERROR(cublasSetMathMode(
      handle, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                        CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  return owned;
}

BlasHandle::BlasHandle(BlasHandle&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

BlasHandle& BlasHandle::operator=(BlasHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

BlasHandle::~BlasHandle() { Reset(); }

void BlasHandle::Reset() {
  // A destructor cannot report an error; cublasDestroy fails only on an uninitialised handle.
  if (handle_ != nullptr) (void)cublasDestroy(handle_);
  handle_ = nullptr;
}

}  // namespace egmla::cuda
