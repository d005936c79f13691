// The CUDA built-ins for kernels compiled as host C++ on the emulator (issue 16). Passed with
// `-include kernels/cuda/emu/emu_prelude.h` when a .cu file is compiled by the host compiler;
// under nvcc (__CUDACC__) it is empty, so it is harmless to force it in there too.
//
// What it supplies, beyond what cuda_runtime.h already defines on the host (__global__,
// __device__, __host__, __shared__, __constant__ as nothing; __forceinline__; dim3, uint3):
// - threadIdx, blockIdx, blockDim, gridDim: per emulated thread (fiber), read from the running
//   fiber's context (macros; not thread_local: a block's fibers share one OS thread); warpSize.
// - __syncthreads[_count|_and|_or] (exited threads count as arrived), __syncwarp, the shuffles,
//   __ballot_sync, __any_sync, __all_sync: collectives that wait for the other threads.
// - atomics on int, unsigned, unsigned long long, float, double (real atomics: blocks run on
//   several OS threads); __threadfence*.
// - the math and bit built-ins our kernels use, device min/max, __ldg; __launch_bounds__ as
//   nothing.
// - nvcuda::wmma (emu_wmma.h).
// `__shared__` stays nothing (cuda_runtime.h's host definition): a block-scope `__shared__` array
// would be per thread. Kernels take shared memory only through egmla::cuda::SharedMemory<T>()
// (shared_memory.h).
#ifndef EGMLA_KERNELS_CUDA_EMU_EMU_PRELUDE_H_
#define EGMLA_KERNELS_CUDA_EMU_EMU_PRELUDE_H_

#if !defined(__CUDACC__)

// The CUDA headers first: some use names the macros below define (e.g. a local `warpSize`).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// sqrtf, expf, fmaxf, ... in the global namespace, as CUDA's math headers declare them.
#include <math.h>

#include "kernels/cuda/emu/emu.h"
#include "kernels/cuda/emu/emu_wmma.h"

#ifndef __global__
#define __global__
#endif
#ifndef __device__
#define __device__
#endif
#ifndef __host__
#define __host__
#endif
#ifndef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#endif
#ifndef __noinline__
#define __noinline__ __attribute__((noinline))
#endif
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

#define threadIdx (::egmla::cuda::emu::detail::Current().thread_idx)
#define blockIdx (::egmla::cuda::emu::detail::Current().block_idx)
#define blockDim (::egmla::cuda::emu::detail::Current().block_dim)
#define gridDim (::egmla::cuda::emu::detail::Current().grid_dim)

inline constexpr int warpSize = ::egmla::cuda::emu::kWarpSize;

// --- Block and warp synchronisation ------------------------------------------------------------

inline void __syncthreads() { (void)::egmla::cuda::emu::detail::SyncThreads(0, nullptr); }
inline int __syncthreads_count(int predicate) {
  return ::egmla::cuda::emu::detail::SyncThreads(predicate != 0, nullptr);
}
inline int __syncthreads_and(int predicate) {
  int arrived = 0;
  return ::egmla::cuda::emu::detail::SyncThreads(predicate != 0, &arrived) == arrived;
}
inline int __syncthreads_or(int predicate) {
  return ::egmla::cuda::emu::detail::SyncThreads(predicate != 0, nullptr) != 0;
}

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  (void)::egmla::cuda::emu::detail::WarpVote(::egmla::cuda::emu::detail::WarpOp::kSync, mask, 0);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return ::egmla::cuda::emu::detail::WarpVote(::egmla::cuda::emu::detail::WarpOp::kBallot, mask,
                                              predicate != 0);
}
inline int __any_sync(unsigned mask, int predicate) {
  return static_cast<int>(::egmla::cuda::emu::detail::WarpVote(
      ::egmla::cuda::emu::detail::WarpOp::kAny, mask, predicate != 0));
}
inline int __all_sync(unsigned mask, int predicate) {
  return static_cast<int>(::egmla::cuda::emu::detail::WarpVote(
      ::egmla::cuda::emu::detail::WarpOp::kAll, mask, predicate != 0));
}
inline unsigned __lanemask_lt() { return ::egmla::cuda::emu::detail::Current().lane_bit - 1u; }

namespace egmla::cuda::emu::detail {
template <typename T>
T Shuffle(WarpOp op, unsigned mask, T var, int b, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16,
                "shuffles take trivially copyable values of at most 16 bytes");
  T out = var;
  WarpShuffle(op, mask, &var, static_cast<int>(sizeof(T)), b, width, &out);
  return out;
}
}  // namespace egmla::cuda::emu::detail

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  return ::egmla::cuda::emu::detail::Shuffle(::egmla::cuda::emu::detail::WarpOp::kShfl, mask, var,
                                             src_lane, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return ::egmla::cuda::emu::detail::Shuffle(::egmla::cuda::emu::detail::WarpOp::kShflUp, mask, var,
                                             static_cast<int>(delta), width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return ::egmla::cuda::emu::detail::Shuffle(::egmla::cuda::emu::detail::WarpOp::kShflDown, mask,
                                             var, static_cast<int>(delta), width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  return ::egmla::cuda::emu::detail::Shuffle(::egmla::cuda::emu::detail::WarpOp::kShflXor, mask,
                                             var, lane_mask, width);
}

// --- Memory fences and atomics -----------------------------------------------------------------

inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }

namespace egmla::cuda::emu::detail {
template <typename T>
using EnableAtomic =
    std::enable_if_t<std::is_same_v<T, int> || std::is_same_v<T, unsigned> ||
                     std::is_same_v<T, unsigned long long> || std::is_same_v<T, long long>>;
template <typename T, typename F>
T AtomicUpdate(T* address, F update) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (!ref.compare_exchange_weak(old, update(old))) {
  }
  return old;
}
}  // namespace egmla::cuda::emu::detail

template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
inline float atomicAdd(float* address, float value) {
  return std::atomic_ref<float>(*address).fetch_add(value);
}
inline double atomicAdd(double* address, double value) {
  return std::atomic_ref<double>(*address).fetch_add(value);
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicSub(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_sub(value);
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicMax(T* address, T value) {
  return ::egmla::cuda::emu::detail::AtomicUpdate(
      address, [value](T old) { return old < value ? value : old; });
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicMin(T* address, T value) {
  return ::egmla::cuda::emu::detail::AtomicUpdate(
      address, [value](T old) { return value < old ? value : old; });
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicAnd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_and(value);
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicOr(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_or(value);
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicXor(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_xor(value);
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
inline float atomicExch(float* address, float value) {
  return std::atomic_ref<float>(*address).exchange(value);
}
template <typename T, typename = ::egmla::cuda::emu::detail::EnableAtomic<T>>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;  // the old value, whether or not it was replaced
}

// --- Math and bit built-ins --------------------------------------------------------------------

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __powf(float a, float b) { return std::pow(a, b); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanhf(float x) { return std::tanh(x); }
inline float __saturatef(float x) { return x != x ? 0.0f : std::fmin(std::fmax(x, 0.0f), 1.0f); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
inline int __float_as_int(float x) { return std::bit_cast<int>(x); }
inline float __uint_as_float(unsigned x) { return std::bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) { return std::bit_cast<unsigned>(x); }

inline int __popc(unsigned x) { return std::popcount(x); }
inline int __popcll(unsigned long long x) { return std::popcount(x); }
inline int __clz(int x) { return std::countl_zero(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return std::countl_zero(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return x == 0 ? 0 : std::countr_zero(static_cast<unsigned>(x)) + 1; }
inline int __ffsll(long long x) {
  return x == 0 ? 0 : std::countr_zero(static_cast<unsigned long long>(x)) + 1;
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}

template <typename T>
T __ldg(const T* p) {
  return *p;
}

// Device min/max: the usual arithmetic conversions, as CUDA's overloads; fminf/fmaxf for floating
// point (a NaN operand gives the other operand).
template <typename A, typename B>
requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
constexpr std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>) {
    return std::fmin(static_cast<C>(a), static_cast<C>(b));
  } else {
    return static_cast<C>(b) < static_cast<C>(a) ? static_cast<C>(b) : static_cast<C>(a);
  }
}
template <typename A, typename B>
requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
constexpr std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>) {
    return std::fmax(static_cast<C>(a), static_cast<C>(b));
  } else {
    return static_cast<C>(a) < static_cast<C>(b) ? static_cast<C>(b) : static_cast<C>(a);
  }
}
inline unsigned umin(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned umax(unsigned a, unsigned b) { return a < b ? b : a; }

#endif  // !__CUDACC__

#endif  // EGMLA_KERNELS_CUDA_EMU_EMU_PRELUDE_H_
