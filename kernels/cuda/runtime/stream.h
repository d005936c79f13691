// An owned CUDA stream. Plain C++: callers need no CUDA headers.
#ifndef EGMLA_KERNELS_CUDA_RUNTIME_STREAM_H_
#define EGMLA_KERNELS_CUDA_RUNTIME_STREAM_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// cudaStream_t is `CUstream_st*`; naming it here keeps CUDA headers out of callers.
struct CUstream_st;

namespace egmla::cuda {

// A stream as the ops take it. nullptr is the legacy default stream.
using StreamHandle = CUstream_st*;

// Move-only owner of a non-blocking stream (it does not synchronise with the legacy default
// stream), created on the current device. Threading: a Stream may be used from one thread at a
// time; the destructor waits for nothing, it only releases the handle (CUDA finishes queued work).
class Stream {
 public:
  static absl::StatusOr<Stream> Create();

  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream();

  StreamHandle handle() const { return handle_; }

  // Blocks until all work queued on the stream is done; returns the first error it met.
  absl::Status Synchronize() const;

 private:
  explicit Stream(StreamHandle handle) : handle_(handle) {}
  void Reset();

  StreamHandle handle_ = nullptr;
};

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_RUNTIME_STREAM_H_
