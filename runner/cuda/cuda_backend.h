// The CUDA backend of MakeExecutor (runner/make_executor.h): device 0, the cache sized from
// --num-kv-blocks, --kv-cache-memory or --gpu-memory-utilization, the CudaModelRunner. Built
// against the CUDA runtime (egmla_runner_cuda) and the SIMT emulator (egmla_runner_cuda_emu) from
// the same source; a program registers the one it links.
#ifndef EGMLA_RUNNER_CUDA_CUDA_BACKEND_H_
#define EGMLA_RUNNER_CUDA_CUDA_BACKEND_H_

#include "runner/make_executor.h"

namespace egmla::cuda {

CudaBackend TheCudaBackend();

}  // namespace egmla::cuda

#endif  // EGMLA_RUNNER_CUDA_CUDA_BACKEND_H_
