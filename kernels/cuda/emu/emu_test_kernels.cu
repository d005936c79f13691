// The emulator's self-test kernels: plain CUDA, no #ifdef, compiled by the host compiler with
// `-include kernels/cuda/emu/emu_prelude.h` (see CMakeLists.txt). Launchers: emu_test_kernels.h.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>

#include "kernels/cuda/emu/emu_test_kernels.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/shared_memory.h"

namespace egmla::cuda::emu_test {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;

template <bool kBarrier>
__global__ void BlockSumKernel(const float* in, float* out) {
  float* partial = SharedMemory<float>();  // [blockDim.x]
  const unsigned t = threadIdx.x;
  partial[t] = in[blockIdx.x * blockDim.x + t];
  if (kBarrier) __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    if (kBarrier) __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

__device__ uint32_t GlobalId() {
  const uint32_t block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const uint32_t thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  return block * (blockDim.x * blockDim.y * blockDim.z) + thread;
}

__global__ void IndexKernel(uint32_t* out) { out[GlobalId()] = GlobalId(); }

__global__ void ShufflesKernel(int* out, int width) {
  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid % warpSize;
  const int v = 1000 * (tid / warpSize) + lane;
  int* o = out + 8 * tid;
  o[0] = __shfl_sync(kFullMask, v, (7 * lane + 3) % 32, width);
  o[1] = __shfl_up_sync(kFullMask, v, 3, width);
  o[2] = __shfl_down_sync(kFullMask, v, 5, width);
  o[3] = __shfl_xor_sync(kFullMask, v, 6, width);
  float sum = static_cast<float>(lane + 1);
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(kFullMask, sum, offset);
  o[4] = static_cast<int>(sum);
  o[5] = static_cast<int>(2.0 * __shfl_sync(kFullMask, v / 2.0, 31 - lane));
  const __nv_bfloat16 b = __float2bfloat16_rn(static_cast<float>(lane));
  o[6] = static_cast<int>(__bfloat162float(__shfl_down_sync(kFullMask, b, 1)));
  o[7] = static_cast<int>(__shfl_xor_sync(kFullMask, static_cast<int64_t>(v) << 33, 1) >> 33);
}

__global__ void VotesKernel(unsigned* out) {
  const unsigned lane = threadIdx.x % 32;
  unsigned* o = out + 6 * threadIdx.x;
  o[0] = __ballot_sync(kFullMask, lane % 3 == 0);
  o[1] = __any_sync(kFullMask, lane == 17);
  o[2] = __all_sync(kFullMask, lane < 32);
  o[3] = __all_sync(kFullMask, lane != 5);
  const unsigned half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  o[4] = __ballot_sync(half, lane % 2 == 1);
  o[5] = __syncthreads_count(threadIdx.x % 4 == 0);
}

__global__ void AtomicsKernel(int* ints, unsigned* uints, float* floats) {
  const int id = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(&ints[0], 1);
  atomicAdd(&uints[0], 2u);
  atomicAdd(&floats[0], 1.0f);
  atomicMax(&ints[1], id);
  int old = ints[2];
  for (int seen; (seen = atomicCAS(&ints[2], old, old + 1)) != old;) old = seen;
  atomicAdd(&ints[4], atomicExch(&ints[3], id + 1));
  atomicCAS(&uints[1], 0u, static_cast<unsigned>(id + 1));
}

__global__ void SharedStartsNanKernel(int* out) {
  float* s = SharedMemory<float>();  // [blockDim.x]
  const float before = s[threadIdx.x];
  out[blockIdx.x * blockDim.x + threadIdx.x] = before != before;
  s[threadIdx.x] = 0.0f;
}

__global__ void BarrierWithExitedThreadsKernel(int* out) {
  if (threadIdx.x % 2 == 1) return;
  __syncthreads();
  __syncthreads();
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void ShuffleWithExitedLaneKernel(int* out) {
  if (threadIdx.x == 0) return;
  out[threadIdx.x] = __shfl_xor_sync(kFullMask, static_cast<int>(threadIdx.x), 1);
}

__global__ void WmmaBf16Kernel(const __nv_bfloat16* a, const __nv_bfloat16* b, const float* c,
                               float* d) {
  using namespace nvcuda;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
  wmma::load_matrix_sync(fc, c, 16, wmma::mem_row_major);
  for (int i = 0; i < acc.num_elements; ++i) acc.x[i] += fc.x[i];
  wmma::store_matrix_sync(d, acc, 16, wmma::mem_row_major);
}

__global__ void GlobalWriteOnePastKernel(float* out) { out[threadIdx.x + 1] = 1.0f; }

__global__ void SharedWriteOnePastKernel() { SharedMemory<float>()[threadIdx.x + 1] = 1.0f; }

__global__ void EmptyKernel() {}

}  // namespace

cudaError_t LaunchBlockSum(const float* in, float* out, int blocks, int threads, bool barrier) {
  const size_t shared = sizeof(float) * static_cast<size_t>(threads);
  return barrier
             ? Launch(BlockSumKernel<true>, dim3(blocks), dim3(threads), shared, nullptr, in, out)
             : Launch(BlockSumKernel<false>, dim3(blocks), dim3(threads), shared, nullptr, in, out);
}

cudaError_t LaunchIndex(uint32_t* out, dim3 grid, dim3 block) {
  return Launch(IndexKernel, grid, block, 0, nullptr, out);
}

cudaError_t LaunchShuffles(int* out, int threads, int width) {
  return Launch(ShufflesKernel, dim3(1), dim3(threads), 0, nullptr, out, width);
}

cudaError_t LaunchVotes(unsigned* out) {
  return Launch(VotesKernel, dim3(1), dim3(64), 0, nullptr, out);
}

cudaError_t LaunchAtomics(int* ints, unsigned* uints, float* floats, int blocks, int threads) {
  return Launch(AtomicsKernel, dim3(blocks), dim3(threads), 0, nullptr, ints, uints, floats);
}

cudaError_t LaunchSharedStartsNan(int* out, int blocks, int threads) {
  return Launch(SharedStartsNanKernel, dim3(blocks), dim3(threads),
                sizeof(float) * static_cast<size_t>(threads), nullptr, out);
}

cudaError_t LaunchBarrierWithExitedThreads(int* out, int threads) {
  return Launch(BarrierWithExitedThreadsKernel, dim3(1), dim3(threads), 0, nullptr, out);
}

cudaError_t LaunchShuffleWithExitedLane(int* out) {
  return Launch(ShuffleWithExitedLaneKernel, dim3(1), dim3(32), 0, nullptr, out);
}

cudaError_t LaunchWmmaBf16(const void* a, const void* b, const float* c, float* d) {
  return Launch(WmmaBf16Kernel, dim3(1), dim3(32), 0, nullptr, static_cast<const __nv_bfloat16*>(a),
                static_cast<const __nv_bfloat16*>(b), c, d);
}

cudaError_t LaunchGlobalWriteOnePast(float* out, int threads) {
  return Launch(GlobalWriteOnePastKernel, dim3(1), dim3(threads), 0, nullptr, out);
}

cudaError_t LaunchSharedWriteOnePast(int threads) {
  return Launch(SharedWriteOnePastKernel, dim3(1), dim3(threads),
                sizeof(float) * static_cast<size_t>(threads), nullptr);
}

cudaError_t LaunchEmpty(dim3 grid, dim3 block, size_t shared_bytes) {
  return Launch(EmptyKernel, grid, block, shared_bytes, nullptr);
}

const void* EmptyKernelAddress() { return reinterpret_cast<const void*>(&EmptyKernel); }

}  // namespace egmla::cuda::emu_test
