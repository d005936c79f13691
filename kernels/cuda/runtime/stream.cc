#include "kernels/cuda/runtime/stream.h"

#include <cuda_runtime_api.h>

#include <utility>

#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::cuda {

absl::StatusOr<Stream> Stream::Create() {
  cudaStream_t handle = nullptr;
  EGMLA_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking));
  return Stream(handle);
}

Stream::Stream(Stream&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    Reset();
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

Stream::~Stream() { Reset(); }

void Stream::Reset() {
  // A destructor cannot report an error; cudaStreamDestroy only fails on an invalid handle.
  if (handle_ != nullptr) (void)cudaStreamDestroy(handle_);
  handle_ = nullptr;
}

absl::Status Stream::Synchronize() const {
  EGMLA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(handle_));
  return absl::OkStatus();
}

}  // namespace egmla::cuda
