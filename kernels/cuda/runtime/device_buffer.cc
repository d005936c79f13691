#include "kernels/cuda/runtime/device_buffer.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::cuda {

absl::StatusOr<DeviceBuffer> DeviceBuffer::Allocate(int64_t bytes) {
  if (bytes < 0) return absl::InvalidArgumentError(absl::StrCat("DeviceBuffer bytes ", bytes));
  if (bytes == 0) return DeviceBuffer();
  void* data = nullptr;
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMalloc(&data, static_cast<size_t>(bytes)));
  return DeviceBuffer(data, bytes);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_bytes_(std::exchange(other.size_bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_bytes_ = std::exchange(other.size_bytes_, 0);
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { Reset(); }

void DeviceBuffer::Reset() {
  // A destructor cannot report an error; cudaFree of a pointer from cudaMalloc fails only when an
  // earlier asynchronous error left the context unusable, which the next checked call reports.
  if (data_ != nullptr) (void)cudaFree(data_);
  data_ = nullptr;
  size_bytes_ = 0;
}

absl::Status DeviceBuffer::CheckRange(int64_t bytes, int64_t offset) const {
  if (bytes < 0 || offset < 0 || offset > size_bytes_ || bytes > size_bytes_ - offset) {
    return absl::InvalidArgumentError(absl::StrCat("copy of ", bytes, " bytes at offset ", offset,
                                                   " leaves a buffer of ", size_bytes_, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status DeviceBuffer::CopyFromHost(const void* src, int64_t bytes, int64_t offset) {
  if (absl::Status s = CheckRange(bytes, offset); !s.ok()) return s;
  if (bytes == 0) return absl::OkStatus();
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpy(static_cast<char*>(data_) + offset, src,
                                        static_cast<size_t>(bytes), cudaMemcpyHostToDevice));
  // From pageable memory cudaMemcpy may return before its DMA lands, and work on non-blocking
  // streams does not wait for the legacy stream: wait here.
  EGMLA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(cudaStreamLegacy));
  return absl::OkStatus();
}

absl::Status DeviceBuffer::CopyToHost(void* dst, int64_t bytes, int64_t offset) const {
  if (absl::Status s = CheckRange(bytes, offset); !s.ok()) return s;
  if (bytes == 0) return absl::OkStatus();
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dst, static_cast<const char*>(data_) + offset,
                                        static_cast<size_t>(bytes), cudaMemcpyDeviceToHost));
  return absl::OkStatus();
}

absl::Status DeviceBuffer::Fill(uint8_t value) {
  if (size_bytes_ == 0) return absl::OkStatus();
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMemset(data_, value, static_cast<size_t>(size_bytes_)));
  EGMLA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(cudaStreamLegacy));  // cudaMemset may not wait
  return absl::OkStatus();
}

}  // namespace egmla::cuda
