// The names and descriptions of every cudaError_t (from driver_types.h), for the emulated
// cudaGetErrorName / cudaGetErrorString.
#ifndef EGMLA_KERNELS_CUDA_EMU_RUNTIME_ERROR_NAMES_H_
#define EGMLA_KERNELS_CUDA_EMU_RUNTIME_ERROR_NAMES_H_

#include <cuda_runtime_api.h>

namespace egmla::cuda::emu {

// "cudaErrorInvalidValue" / "invalid argument"; null for a value that is not an error code.
const char* ErrorName(cudaError_t error);
const char* ErrorString(cudaError_t error);

}  // namespace egmla::cuda::emu

#endif  // EGMLA_KERNELS_CUDA_EMU_RUNTIME_ERROR_NAMES_H_
