// Page-locked host memory owned RAII-style (cudaMallocHost / cudaFreeHost): the staging buffer of
// the runner's per-step inputs, copied to the device with one asynchronous copy. Plain C++.
#ifndef EGMLA_KERNELS_CUDA_RUNTIME_PINNED_BUFFER_H_
#define EGMLA_KERNELS_CUDA_RUNTIME_PINNED_BUFFER_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace egmla::cuda {

class PinnedBuffer {
 public:
  // REQUIRES: bytes >= 0. Out of memory is RESOURCE_EXHAUSTED naming the call.
  static absl::StatusOr<PinnedBuffer> Allocate(int64_t bytes);

  PinnedBuffer() = default;
  PinnedBuffer(PinnedBuffer&& other) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer();

  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }
  int64_t size_bytes() const { return size_bytes_; }

 private:
  void Reset();
  void* data_ = nullptr;  // [size_bytes_] on the host, page-locked
  int64_t size_bytes_ = 0;
};

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_RUNTIME_PINNED_BUFFER_H_
