// The SIMT emulator (issue 16): CUDA kernels compiled as host C++ run on the CPU. Each CUDA thread
// of a block is a Boost.Context fiber on its own guard-paged 256 KiB stack; a block's fibers run on
// one OS thread, and between two synchronisation points they run in a seeded shuffled (or
// reversed) order, so a missing __syncthreads reads data that was not written yet. Blocks of a
// grid run on up to Options::host_threads OS threads; a launch returns when the grid is done.
//
// Kernel code does not include this header: it gets the built-ins from emu_prelude.h (forced in
// with -include), dynamic shared memory from shared_memory.h and launches through launch.h.
// This header is for those three, for the emulated host runtime (cudaGetLastError,
// cudaFuncSetAttribute) and for tests.
#ifndef EGMLA_KERNELS_CUDA_EMU_EMU_H_
#define EGMLA_KERNELS_CUDA_EMU_EMU_H_

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace egmla::cuda::emu {

// The device the emulator pretends to be (compute capability 9.0, as an H100).
inline constexpr int kWarpSize = 32;
inline constexpr unsigned kMaxThreadsPerBlock = 1024;
inline constexpr unsigned kMaxBlockDimX = 1024, kMaxBlockDimY = 1024, kMaxBlockDimZ = 64;
inline constexpr unsigned kMaxGridDimX = 0x7fffffffu, kMaxGridDimY = 65535, kMaxGridDimZ = 65535;
// Dynamic shared memory a kernel may take without and with cudaFuncSetAttribute(
// cudaFuncAttributeMaxDynamicSharedMemorySize): 48 KiB and 227 KiB (sharedMemPerBlockOptin).
inline constexpr size_t kDefaultMaxDynamicSharedBytes = 48 * 1024;
inline constexpr size_t kMaxDynamicSharedBytesOptin = 227 * 1024;
// Each emulated thread's stack; the page below it is a guard page.
inline constexpr size_t kFiberStackBytes = 256 * 1024;

// In which order a block's runnable threads run between two synchronisation points.
enum class Order {
  kShuffled,  // a permutation drawn afresh each time, from `seed` and the block index
  kReverse,   // highest thread index first
  kForward,   // thread 0 first (the order that hides the most missing barriers; for debugging)
};

struct Options {
  Order order = Order::kShuffled;
  uint64_t seed = 0x5eed;
  // OS threads a grid's blocks run on; 0: min(4, hardware threads). A block never moves between
  // OS threads whatever this is, and results do not depend on it.
  int host_threads = 0;
};

// Process-wide options. The first read takes them from the environment: EGMLA_EMU_ORDER
// (shuffled|reverse|forward), EGMLA_EMU_SEED (an integer), EGMLA_EMU_THREADS (an integer >= 0).
// SetOptions is for tests; it must not race with a launch.
Options GetOptions();
void SetOptions(const Options& options);

// The emulator's last-error slot, one per host thread, as the CUDA runtime's: a failed launch
// records its error here; the host runtime's cudaGetLastError returns TakeLastError() and
// cudaPeekAtLastError PeekLastError(). SetLastError(cudaSuccess) does nothing (as in CUDA, a
// success never overwrites a recorded error).
void SetLastError(cudaError_t error);
cudaError_t TakeLastError();  // returns the recorded error (or cudaSuccess) and clears it
cudaError_t PeekLastError();

// What a launch of `kernel` (its address, a key only) with this configuration returns on a real
// device: cudaErrorInvalidConfiguration for a zero or too large grid or block dimension or more
// than 1024 threads per block; cudaErrorInvalidValue for more dynamic shared memory than the
// kernel's limit (48 KiB, or what FuncSetMaxDynamicSharedMemorySize allowed). Records nothing.
cudaError_t CheckLaunchConfig(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes);

// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), for the host
// runtime: cudaErrorInvalidValue when `bytes` is outside [0, 227 KiB], else raises the kernel's
// limit. Thread-safe.
cudaError_t FuncSetMaxDynamicSharedMemorySize(const void* kernel, int bytes);

// Runs `body(context)` as every thread of the grid and returns when all are done. On a bad
// configuration (CheckLaunchConfig) runs nothing, records the error (SetLastError) and returns
// it. Each block starts with `shared_bytes` of dynamic shared memory filled with 0xFF bytes (NaN
// as float, bf16 and half). Launching from inside a kernel (dynamic parallelism) is a fatal error.
using KernelBody = void (*)(void* context);
cudaError_t LaunchGrid(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes,
                       KernelBody body, void* context);

// Everything below is for the prelude, shared_memory.h and the wmma emulation only.
namespace detail {

// The running emulated thread's coordinates; valid only inside a kernel.
struct ThreadContext {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  void* shared;       // the block's dynamic shared memory
  int lane;           // thread index in the block (x fastest) % 32
  unsigned lane_bit;  // 1u << lane
};

// The calling fiber's context; a fatal error outside a kernel.
const ThreadContext& Current();
bool InKernel();

// __syncthreads and its variants: waits until every thread of the block that has not exited
// arrives; returns how many of the arrived threads passed a non-zero `predicate`, and in
// `*arrived` how many arrived (nullptr allowed).
int SyncThreads(int predicate, int* arrived);

enum class WarpOp : uint8_t { kSync, kShfl, kShflUp, kShflDown, kShflXor, kBallot, kAny, kAll };

// A warp collective: the calling lane deposits `size` (<= 16) bytes of `value` and waits until
// every lane of `mask` (that exists in the block) has called the same op with the same mask; then
// each gets its result in `result` (the shuffles; PTX shfl.sync semantics for `b` and `width`).
// A lane of `mask` that has exited, or waits elsewhere, never arrives: a fatal "deadlock" error,
// as the device would hang. A source lane outside `mask` gives 0xFF bytes.
void WarpShuffle(WarpOp op, unsigned mask, const void* value, int size, int b, int width,
                 void* result);
// __syncwarp, __ballot_sync, __any_sync, __all_sync: the ballot, or 0/1 for any and all.
unsigned WarpVote(WarpOp op, unsigned mask, int predicate);

// Prints `message` with the calling emulated thread's coordinates to stderr and aborts.
[[noreturn]] void Fatal(const char* message);

}  // namespace detail
}  // namespace egmla::cuda::emu

#endif  // EGMLA_KERNELS_CUDA_EMU_EMU_H_
