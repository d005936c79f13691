// What the emulated CUDA runtime (runtime.cc) knows about "device" memory and streams, for the
// other emulated libraries (the cuBLAS stand-in, the kernel-launch emulator): device memory is host
// heap memory from cudaMalloc, so these are the checks a GPU's memory protection would make.
#ifndef EGMLA_KERNELS_CUDA_EMU_RUNTIME_DEVICE_MEMORY_H_
#define EGMLA_KERNELS_CUDA_EMU_RUNTIME_DEVICE_MEMORY_H_

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace egmla::cuda::emu {

// True when [ptr, ptr + bytes) lies inside one live cudaMalloc allocation. bytes == 0 asks only
// whether ptr is inside one (or one past its end). Thread-safe.
bool IsDeviceRange(const void* ptr, size_t bytes);

// True for a stream the runtime would accept: 0 (the legacy default stream), cudaStreamLegacy,
// cudaStreamPerThread, or one created by cudaStreamCreate[WithFlags] and not yet destroyed.
bool IsValidStream(cudaStream_t stream);

// The emulated device's memory, in bytes: EGMLA_EMU_DEVICE_MEMORY (a decimal byte count) when
// set, else kDefaultDeviceMemory. Read at each call, so a test may change it. An unparsable value
// aborts the process with a message: a misconfigured emulator must not look like a small GPU.
inline constexpr size_t kDefaultDeviceMemory = size_t{8} << 30;  // 8 GiB
size_t DeviceMemoryLimit();

// "123" → 123; nullopt for anything but 1-20 decimal digits that fit in size_t. Exposed for tests.
std::optional<size_t> ParseDeviceMemory(const char* text);

// True when EGMLA_EMU_NO_DEVICE=1: the runtime then behaves as on a machine without a GPU.
bool NoDevice();

// Bytes currently held by live cudaMalloc allocations.
size_t DeviceMemoryInUse();

}  // namespace egmla::cuda::emu

#endif  // EGMLA_KERNELS_CUDA_EMU_RUNTIME_DEVICE_MEMORY_H_
