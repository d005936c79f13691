#include "kernels/cuda/runtime/pinned_buffer.h"

#include <cuda_runtime_api.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::cuda {

absl::StatusOr<PinnedBuffer> PinnedBuffer::Allocate(int64_t bytes) {
  if (bytes < 0) return absl::InvalidArgumentError(absl::StrCat("PinnedBuffer bytes ", bytes));
  PinnedBuffer buffer;
  if (bytes == 0) return buffer;
  EGMLA_CUDA_RETURN_IF_ERROR(cudaMallocHost(&buffer.data_, static_cast<size_t>(bytes)));
  buffer.size_bytes_ = bytes;
  return buffer;
}

PinnedBuffer::PinnedBuffer(PinnedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_bytes_(std::exchange(other.size_bytes_, 0)) {}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_bytes_ = std::exchange(other.size_bytes_, 0);
  }
  return *this;
}

PinnedBuffer::~PinnedBuffer() { Reset(); }

void PinnedBuffer::Reset() {
  if (data_ != nullptr) (void)cudaFreeHost(data_);
  data_ = nullptr;
  size_bytes_ = 0;
}

}  // namespace egmla::cuda
