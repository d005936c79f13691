// Launchers of the emulator's self-test kernels (emu_test_kernels.cu, compiled as host C++ with
// the prelude forced in). Pointers are host memory: the emulator's device memory is the host's.
#ifndef EGMLA_KERNELS_CUDA_EMU_EMU_TEST_KERNELS_H_
#define EGMLA_KERNELS_CUDA_EMU_EMU_TEST_KERNELS_H_

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace egmla::cuda::emu_test {

// out[b] = sum of in[b * threads, (b + 1) * threads) by a shared-memory tree reduction; `threads`
// a power of 2. Without the barrier: the same kernel with its __syncthreads removed.
cudaError_t LaunchBlockSum(const float* in, float* out, int blocks, int threads, bool barrier);

// out[global linear thread id] = that id, computed from blockIdx, blockDim, threadIdx, gridDim.
cudaError_t LaunchIndex(uint32_t* out, dim3 grid, dim3 block);

// Per thread of one block of `threads` (a multiple of 32 or not), 8 ints: value v = 1000 * warp +
// lane; __shfl_sync(v, (7 * lane + 3) % 32, width), __shfl_up_sync(v, 3, width),
// __shfl_down_sync(v, 5, width), __shfl_xor_sync(v, 6, width); then the float warp sum by xor
// butterfly of (lane + 1), the double __shfl_sync(v / 2.0, 31 - lane), the __nv_bfloat16
// __shfl_down_sync of lane by 1 as float, and the 64-bit __shfl_xor_sync of (v << 33) by 1 >> 33.
cudaError_t LaunchShuffles(int* out, int threads, int width);

// Per thread of one block of 64, 6 unsigned: __ballot_sync(full, lane % 3 == 0),
// __any_sync(full, lane == 17), __all_sync(full, lane < 32), __all_sync(full, lane != 5);
// with the half-warp masks (lanes < 16 use 0x0000ffff, the others 0xffff0000):
// __ballot_sync(half, lane % 2 == 1), and __syncthreads_count(threadIdx.x % 4 == 0).
cudaError_t LaunchVotes(unsigned* out);

// Every thread of blocks x threads: atomicAdd(&ints[0], 1), atomicAdd(&uints[0], 2u),
// atomicAdd(&floats[0], 1.0f), atomicMax(&ints[1], global id), a CAS-loop increment of ints[2],
// atomicExch(&ints[3], global id + 1) with the old value added to ints[4] (atomicAdd), and
// atomicCAS(&uints[1], 0u, global id + 1) (the first thread to get there wins).
cudaError_t LaunchAtomics(int* ints, unsigned* uints, float* floats, int blocks, int threads);

// Each thread reads its own float of shared memory before any write: out[global id] = 1 if NaN.
// Then it writes 0 there, so a block that reused the previous block's memory would read 0.
cudaError_t LaunchSharedStartsNan(int* out, int blocks, int threads);

// Odd threads return at once; even ones pass three __syncthreads and write out[tid] = 1.
cudaError_t LaunchBarrierWithExitedThreads(int* out, int threads);

// Lane 0 returns; the other 31 then __shfl_xor_sync with the full mask: a deadlock.
cudaError_t LaunchShuffleWithExitedLane(int* out);

// One warp: d[16x16] (f32, row-major) = a[16x16] (bf16, row-major) * b[16x16] (bf16, col-major:
// element (k, n) at b[n * 16 + k]) + c (f32, row-major), through nvcuda::wmma.
cudaError_t LaunchWmmaBf16(const void* a, const void* b, const float* c, float* d);

// Planted faults for ASan: thread t writes out[t + 1] (`out` has `threads` floats), or its block's
// shared float t + 1 (the block has `threads` floats): the last thread writes one past the end.
cudaError_t LaunchGlobalWriteOnePast(float* out, int threads);
cudaError_t LaunchSharedWriteOnePast(int threads);

// A kernel with dynamic shared memory and no arguments, for the launch-error tests; its address.
cudaError_t LaunchEmpty(dim3 grid, dim3 block, size_t shared_bytes);
const void* EmptyKernelAddress();

}  // namespace egmla::cuda::emu_test

#endif  // EGMLA_KERNELS_CUDA_EMU_EMU_TEST_KERNELS_H_
