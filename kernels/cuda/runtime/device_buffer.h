// Device memory owned RAII-style (cudaMalloc / cudaFree). Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_RUNTIME_DEVICE_BUFFER_H_
#define EGMLA_KERNELS_CUDA_RUNTIME_DEVICE_BUFFER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace egmla::cuda {

// Move-only owner of `size_bytes()` bytes of global memory on the device that was current at
// Allocate. Threading: not synchronised; the destructor frees at once (cudaFree waits for the
// device), so work that reads the buffer must be queued before it is destroyed.
class DeviceBuffer {
 public:
  // REQUIRES: bytes >= 0. Zero bytes allocates nothing and gives a null data().
  // Out of memory is RESOURCE_EXHAUSTED naming the cudaMalloc call.
  static absl::StatusOr<DeviceBuffer> Allocate(int64_t bytes);

  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  void* data() { return data_; }
  const void* data() const { return data_; }
  int64_t size_bytes() const { return size_bytes_; }

  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }

  // Copies of `bytes` bytes at byte `offset` of the buffer, complete on return, so work on any
  // stream queued afterwards sees them. They run on the legacy default stream and so wait for work
  // queued there, but not for work on non-blocking streams: synchronise those first.
  // INVALID_ARGUMENT when the range leaves the buffer.
  absl::Status CopyFromHost(const void* src, int64_t bytes, int64_t offset = 0);
  absl::Status CopyToHost(void* dst, int64_t bytes, int64_t offset = 0) const;

  // Sets every byte to `value`; complete on return, like the copies.
  absl::Status Fill(uint8_t value);

 private:
  DeviceBuffer(void* data, int64_t size_bytes) : data_(data), size_bytes_(size_bytes) {}
  absl::Status CheckRange(int64_t bytes, int64_t offset) const;
  void Reset();

  void* data_ = nullptr;  // [size_bytes_] on the device
  int64_t size_bytes_ = 0;
};

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_RUNTIME_DEVICE_BUFFER_H_
