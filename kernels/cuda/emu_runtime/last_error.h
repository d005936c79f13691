// The hook through which the kernel-launch emulator (kernels/cuda/emu/) reports a launch error to
// the emulated CUDA runtime (runtime.cc), the way a real launch leaves its error for
// cudaGetLastError / cudaPeekAtLastError.
#ifndef EGMLA_KERNELS_CUDA_EMU_RUNTIME_LAST_ERROR_H_
#define EGMLA_KERNELS_CUDA_EMU_RUNTIME_LAST_ERROR_H_

#include <cuda_runtime_api.h>

namespace egmla::cuda::emu {

// Records `error` as the calling host thread's last error: the next cudaGetLastError on this
// thread returns it and resets the slot to cudaSuccess; cudaPeekAtLastError returns it and leaves
// it. cudaSuccess leaves the slot unchanged, as a successful runtime call does. Thread-safe (the
// slot is per host thread, as in the real runtime).
void SetLastError(cudaError_t error);
// The recorded error (or cudaSuccess), cleared (as cudaGetLastError) or left (as Peek).
cudaError_t TakeLastError();
cudaError_t PeekLastError();

}  // namespace egmla::cuda::emu

#endif  // EGMLA_KERNELS_CUDA_EMU_RUNTIME_LAST_ERROR_H_
