// The one way host code launches a kernel (issue 16), the same source for nvcc and the emulator:
//
//   return egmla::cuda::Launch(RmsNormBf16Kernel<true>, grid, block, /*shared_bytes=*/0, stream,
//                              params);
//
// Returns what `cudaGetLastError()` returns right after the launch (and clears it): cudaSuccess,
// or the launch's error (a bad configuration: cudaErrorInvalidConfiguration, too much shared
// memory: cudaErrorInvalidValue), or an error an earlier call left.
// Under nvcc: kernel<<<grid, block, shared_bytes, stream>>>(args...). On the emulator: the grid
// runs to completion on fibers before Launch returns (`stream` is not used; work on a stream is
// in order, so running it now keeps that order).
#ifndef EGMLA_KERNELS_CUDA_LAUNCH_H_
#define EGMLA_KERNELS_CUDA_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#if !defined(__CUDACC__)
#include "kernels/cuda/emu/emu.h"
#endif

namespace egmla::cuda {

template <typename... Params, typename... Args>
cudaError_t Launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                   cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "Launch: wrong number of kernel arguments");
#if defined(__CUDACC__)
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
  return cudaGetLastError();
#else
  (void)stream;
  // The kernel's parameters, converted once as the launch would; each thread gets its own copy.
  using Tuple = std::tuple<std::remove_cvref_t<Params>...>;
  struct Context {
    void (*kernel)(Params...);
    Tuple* params;
  };
  Tuple params(std::forward<Args>(args)...);
  Context context{kernel, &params};
  const auto body = [](void* c) {
    const Context& ctx = *static_cast<const Context*>(c);
    std::apply(ctx.kernel, *ctx.params);
  };
  (void)emu::LaunchGrid(reinterpret_cast<const void*>(kernel), grid, block, shared_bytes, body,
                        &context);
  return emu::TakeLastError();
#endif
}

}  // namespace egmla::cuda

#endif  // EGMLA_KERNELS_CUDA_LAUNCH_H_
