// The emulator's core: fibers, the per-block scheduler, barriers, warp collectives and launch
// checks (emu.h).
#include "kernels/cuda/emu/emu.h"

#include <algorithm>
#include <atomic>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define EGMLA_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EGMLA_EMU_ASAN 1
#endif
#endif
#ifdef EGMLA_EMU_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace egmla::cuda::emu {
namespace {

namespace bctx = boost::context;
using detail::WarpOp;

// ---------------------------------------------------------------------------------------------
// Options, last error, per-kernel limits.

Options OptionsFromEnvironment() {
  Options options;
  if (const char* order = std::getenv("EGMLA_EMU_ORDER")) {
    const std::string value = order;
    if (value == "reverse") options.order = Order::kReverse;
    if (value == "forward") options.order = Order::kForward;
  }
  if (const char* seed = std::getenv("EGMLA_EMU_SEED")) {
    options.seed = std::strtoull(seed, nullptr, 0);
  }
  if (const char* threads = std::getenv("EGMLA_EMU_THREADS")) {
    options.host_threads = std::max(0, std::atoi(threads));
  }
  return options;
}

std::mutex& OptionsMutex() {
  static std::mutex mutex;
  return mutex;
}

Options& GlobalOptions() {
  static Options options = OptionsFromEnvironment();
  return options;
}

struct SharedLimits {
  std::mutex mutex;
  std::unordered_map<const void*, size_t> max_dynamic_bytes;
};

SharedLimits& Limits() {
  static SharedLimits* limits = new SharedLimits;  // never destroyed: launches may outlive main
  return *limits;
}

size_t MaxDynamicSharedBytes(const void* kernel) {
  SharedLimits& limits = Limits();
  std::lock_guard lock(limits.mutex);
  const auto it = limits.max_dynamic_bytes.find(kernel);
  return it == limits.max_dynamic_bytes.end() ? kDefaultMaxDynamicSharedBytes : it->second;
}

// ---------------------------------------------------------------------------------------------
// Stacks: guard-paged, kept per OS thread and reused across blocks and launches.

class StackPool {
 public:
  StackPool() : allocator_(kFiberStackBytes) {}
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool() {
    for (bctx::stack_context& stack : free_) allocator_.deallocate(stack);
  }

  bctx::stack_context Allocate() {
    if (free_.empty()) return allocator_.allocate();
    const bctx::stack_context stack = free_.back();
    free_.pop_back();
    return stack;
  }

  void Release(bctx::stack_context& stack) {
#ifdef EGMLA_EMU_ASAN
    // A finished fiber never returns from its entry frames; their redzones must not be seen by
    // the next fiber on this stack.
    __asan_unpoison_memory_region(static_cast<char*>(stack.sp) - stack.size, stack.size);
#endif
    free_.push_back(stack);
  }

 private:
  bctx::protected_fixedsize_stack allocator_;
  std::vector<bctx::stack_context> free_;
};

StackPool& ThisThreadStacks() {
  thread_local StackPool pool;
  return pool;
}

// The StackAllocator concept of Boost.Context, over a pool.
struct PooledStack {
  StackPool* pool;
  bctx::stack_context allocate() { return pool->Allocate(); }
  void deallocate(bctx::stack_context& stack) noexcept { pool->Release(stack); }
};

// ---------------------------------------------------------------------------------------------
// Threads and blocks.

enum class State : uint8_t { kRunnable, kBarrier, kWarp, kExited };

struct Block;

struct Thread : detail::ThreadContext {
  Block* block = nullptr;
  int index = 0;  // linear index in the block
  int warp = 0;
  State state = State::kRunnable;
  bctx::fiber fiber;      // this thread, while suspended
  bctx::fiber scheduler;  // the block's scheduler, while this thread runs

  // At a barrier: the predicate; after it, the counts.
  int predicate = 0;
  int barrier_count = 0;
  int barrier_arrived = 0;

  // At a warp collective.
  WarpOp op = WarpOp::kSync;
  unsigned mask = 0;
  int size = 0;
  int b = 0;
  int width = kWarpSize;
  alignas(16) unsigned char value[16] = {};
  alignas(16) unsigned char result[16] = {};
  unsigned vote = 0;
};

struct Block {
  std::unique_ptr<Thread[]> threads;
  int size = 0;
  int alive = 0;
  int at_barrier = 0;
  std::vector<unsigned> existing_lanes;  // per warp
};

thread_local Thread* tls_current = nullptr;

const char* OpName(WarpOp op) {
  switch (op) {
    case WarpOp::kSync:
      return "__syncwarp";
    case WarpOp::kShfl:
      return "__shfl_sync";
    case WarpOp::kShflUp:
      return "__shfl_up_sync";
    case WarpOp::kShflDown:
      return "__shfl_down_sync";
    case WarpOp::kShflXor:
      return "__shfl_xor_sync";
    case WarpOp::kBallot:
      return "__ballot_sync";
    case WarpOp::kAny:
      return "__any_sync";
    case WarpOp::kAll:
      return "__all_sync";
  }
  return "?";
}

std::string Coordinates(const Thread& t) {
  char text[160];
  std::snprintf(text, sizeof text, "block (%u,%u,%u) thread (%u,%u,%u) [warp %d lane %d]",
                t.block_idx.x, t.block_idx.y, t.block_idx.z, t.thread_idx.x, t.thread_idx.y,
                t.thread_idx.z, t.warp, t.lane);
  return text;
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "egmla cuda emulator: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

Thread& Self() {
  if (tls_current == nullptr) Die("a device built-in was called outside a kernel");
  return *tls_current;
}

// Back to the block's scheduler; returns when the scheduler resumes this thread.
void Yield(Thread& t) { t.scheduler = std::move(t.scheduler).resume(); }

// Releases the warp collective `t` waits in if every lane of its mask has arrived at it.
void TryCompleteWarp(Block& block, const Thread& t) {
  const unsigned want = t.mask & block.existing_lanes[t.warp];
  Thread* lanes = &block.threads[t.warp * kWarpSize];
  for (int lane = 0; lane < kWarpSize; ++lane) {
    if (!(want >> lane & 1u)) continue;
    const Thread& u = lanes[lane];
    if (u.state != State::kWarp || u.mask != t.mask) return;  // not there yet
    if (u.op != t.op || u.size != t.size) {
      Die(Coordinates(t) + " is in " + OpName(t.op) + " while " + Coordinates(u) + " is in " +
          OpName(u.op) + " with the same mask (or another value size): divergent collectives");
    }
  }
  unsigned ballot = 0;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    if ((want >> lane & 1u) && lanes[lane].predicate != 0) ballot |= 1u << lane;
  }
  for (int lane = 0; lane < kWarpSize; ++lane) {
    if (!(want >> lane & 1u)) continue;
    Thread& u = lanes[lane];
    switch (u.op) {
      case WarpOp::kSync:
        break;
      case WarpOp::kBallot:
        u.vote = ballot;
        break;
      case WarpOp::kAny:
        u.vote = ballot != 0;
        break;
      case WarpOp::kAll:
        u.vote = ballot == want;
        break;
      case WarpOp::kShfl:
      case WarpOp::kShflUp:
      case WarpOp::kShflDown:
      case WarpOp::kShflXor: {
        // PTX shfl.sync: segment mask from the width, clamp 0 for up and 31 otherwise.
        const int b = u.b & 31;
        const int segmask = kWarpSize - u.width;
        const int min_lane = lane & segmask;
        const int max_lane = min_lane | ((u.op == WarpOp::kShflUp ? 0 : 31) & ~segmask);
        int j = lane;
        bool in_range = false;
        switch (u.op) {
          case WarpOp::kShflUp:
            j = lane - b;
            in_range = j >= max_lane;
            break;
          case WarpOp::kShflDown:
            j = lane + b;
            in_range = j <= max_lane;
            break;
          case WarpOp::kShflXor:
            j = lane ^ b;
            in_range = j <= max_lane;
            break;
          default:
            j = min_lane | (b & ~segmask);
            in_range = j <= max_lane;
            break;
        }
        if (!in_range) j = lane;
        if (want >> j & 1u) {
          std::memcpy(u.result, lanes[j].value, static_cast<size_t>(u.size));
        } else {
          std::memset(u.result, 0xff, static_cast<size_t>(u.size));
        }
        break;
      }
    }
    u.state = State::kRunnable;
  }
}

// Nothing can run and the block is not done: describe, per warp, who waits where, and abort.
[[noreturn]] void Deadlock(const Block& block) {
  std::string message = "deadlock: no thread of the block can proceed (the device would hang)";
  for (size_t w = 0; w < block.existing_lanes.size(); ++w) {
    unsigned waiting = 0, exited = 0, at_barrier = 0;
    const Thread* first_waiting = nullptr;
    for (int lane = 0; lane < kWarpSize; ++lane) {
      if (!(block.existing_lanes[w] >> lane & 1u)) continue;
      const Thread& t = block.threads[w * kWarpSize + lane];
      if (t.state == State::kWarp) {
        waiting |= 1u << lane;
        if (first_waiting == nullptr) first_waiting = &t;
      }
      if (t.state == State::kExited) exited |= 1u << lane;
      if (t.state == State::kBarrier) at_barrier |= 1u << lane;
    }
    if (waiting == 0) continue;
    char text[256];
    std::snprintf(text, sizeof text,
                  "\n  block (%u,%u,%u) warp %zu: lanes 0x%08x wait in %s (mask 0x%08x, as lane %d "
                  "has it); lanes 0x%08x exited, 0x%08x wait at __syncthreads",
                  first_waiting->block_idx.x, first_waiting->block_idx.y,
                  first_waiting->block_idx.z, w, waiting, OpName(first_waiting->op),
                  first_waiting->mask, first_waiting->lane, exited, at_barrier);
    message += text;
  }
  message += "\n  (a lane that exited never arrives at a warp collective)";
  Die(message);
}

void ReleaseBarrier(Block& block) {
  int count = 0;
  for (int i = 0; i < block.size; ++i) {
    if (block.threads[i].state == State::kBarrier && block.threads[i].predicate != 0) ++count;
  }
  for (int i = 0; i < block.size; ++i) {
    Thread& t = block.threads[i];
    if (t.state != State::kBarrier) continue;
    t.barrier_count = count;
    t.barrier_arrived = block.alive;
    t.state = State::kRunnable;
  }
  block.at_barrier = 0;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Grid {
  dim3 grid;
  dim3 block;
  size_t shared_bytes;
  KernelBody body;
  void* context;
  Options options;
};

void RunBlock(const Grid& g, uint64_t block_linear) {
  Block block;
  block.size = static_cast<int>(g.block.x * g.block.y * g.block.z);
  block.alive = block.size;
  block.threads.reset(new Thread[static_cast<size_t>(block.size)]);
  const int warps = (block.size + kWarpSize - 1) / kWarpSize;
  block.existing_lanes.resize(static_cast<size_t>(warps));
  for (int w = 0; w < warps; ++w) {
    const int lanes = std::min(kWarpSize, block.size - w * kWarpSize);
    block.existing_lanes[w] = lanes == kWarpSize ? ~0u : (1u << lanes) - 1u;
  }

  // Exactly `shared_bytes` long, so that ASan reports an access past it; 0xFF bytes are NaN.
  struct FreeShared {
    void operator()(unsigned char* p) const { ::operator delete[](p, std::align_val_t{128}); }
  };
  std::unique_ptr<unsigned char[], FreeShared> shared(
      static_cast<unsigned char*>(::operator new[](g.shared_bytes, std::align_val_t{128})));
  std::memset(shared.get(), 0xff, g.shared_bytes);

  const uint3 block_idx{static_cast<unsigned>(block_linear % g.grid.x),
                        static_cast<unsigned>(block_linear / g.grid.x % g.grid.y),
                        static_cast<unsigned>(block_linear / (uint64_t{g.grid.x} * g.grid.y))};
  StackPool& stacks = ThisThreadStacks();
  for (int i = 0; i < block.size; ++i) {
    Thread& t = block.threads[i];
    const unsigned u = static_cast<unsigned>(i);
    t.thread_idx = uint3{u % g.block.x, u / g.block.x % g.block.y, u / (g.block.x * g.block.y)};
    t.block_idx = block_idx;
    t.block_dim = g.block;
    t.grid_dim = g.grid;
    t.shared = shared.get();
    t.lane = i % kWarpSize;
    t.lane_bit = 1u << t.lane;
    t.block = &block;
    t.index = i;
    t.warp = i / kWarpSize;
    t.fiber =
        bctx::fiber(std::allocator_arg, PooledStack{&stacks}, [&t, &g](bctx::fiber&& scheduler) {
          t.scheduler = std::move(scheduler);
          g.body(g.context);
          t.state = State::kExited;
          return std::move(t.scheduler);
        });
  }

  std::mt19937_64 rng(SplitMix64(g.options.seed ^ SplitMix64(block_linear)));
  std::vector<int> order;
  order.reserve(static_cast<size_t>(block.size));
  while (block.alive > 0) {
    order.clear();
    for (int i = 0; i < block.size; ++i) {
      if (block.threads[i].state == State::kRunnable) order.push_back(i);
    }
    if (order.empty()) {
      if (block.at_barrier != block.alive) Deadlock(block);
      ReleaseBarrier(block);
      continue;
    }
    switch (g.options.order) {
      case Order::kShuffled:
        std::shuffle(order.begin(), order.end(), rng);
        break;
      case Order::kReverse:
        std::reverse(order.begin(), order.end());
        break;
      case Order::kForward:
        break;
    }
    for (const int i : order) {
      Thread& t = block.threads[i];
      tls_current = &t;
      t.fiber = std::move(t.fiber).resume();
      tls_current = nullptr;
      switch (t.state) {
        case State::kExited:
          --block.alive;
          break;
        case State::kBarrier:
          ++block.at_barrier;
          break;
        case State::kWarp:
          TryCompleteWarp(block, t);
          break;
        case State::kRunnable:
          Die(Coordinates(t) + " yielded while runnable (emulator bug)");
      }
    }
  }
}

}  // namespace

Options GetOptions() {
  std::lock_guard lock(OptionsMutex());
  return GlobalOptions();
}

void SetOptions(const Options& options) {
  std::lock_guard lock(OptionsMutex());
  GlobalOptions() = options;
}

// SetLastError, TakeLastError and PeekLastError live with the emulated runtime
// (kernels/cuda/emu_runtime/runtime.cc): one slot per host thread, read by cudaGetLastError.

cudaError_t CheckLaunchConfig(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) {
    return cudaErrorInvalidConfiguration;
  }
  if (block.x > kMaxBlockDimX || block.y > kMaxBlockDimY || block.z > kMaxBlockDimZ ||
      uint64_t{block.x} * block.y * block.z > kMaxThreadsPerBlock) {
    return cudaErrorInvalidConfiguration;
  }
  if (grid.x > kMaxGridDimX || grid.y > kMaxGridDimY || grid.z > kMaxGridDimZ) {
    return cudaErrorInvalidConfiguration;
  }
  if (shared_bytes > MaxDynamicSharedBytes(kernel)) return cudaErrorInvalidValue;
  return cudaSuccess;
}

cudaError_t FuncSetMaxDynamicSharedMemorySize(const void* kernel, int bytes) {
  if (kernel == nullptr) return cudaErrorInvalidDeviceFunction;
  if (bytes < 0 || static_cast<size_t>(bytes) > kMaxDynamicSharedBytesOptin) {
    return cudaErrorInvalidValue;
  }
  SharedLimits& limits = Limits();
  std::lock_guard lock(limits.mutex);
  limits.max_dynamic_bytes[kernel] = static_cast<size_t>(bytes);
  return cudaSuccess;
}

cudaError_t LaunchGrid(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes,
                       KernelBody body, void* context) {
  if (tls_current != nullptr) detail::Fatal("a kernel launched a kernel (not emulated)");
  if (const cudaError_t error = CheckLaunchConfig(kernel, grid, block, shared_bytes);
      error != cudaSuccess) {
    SetLastError(error);
    return error;
  }
  const Grid g{grid, block, shared_bytes, body, context, GetOptions()};
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  uint64_t host_threads = g.options.host_threads > 0
                              ? static_cast<uint64_t>(g.options.host_threads)
                              : std::clamp<uint64_t>(std::thread::hardware_concurrency(), 1, 4);
  host_threads = std::min(host_threads, blocks);
  std::atomic<uint64_t> next{0};
  const auto work = [&g, &next, blocks] {
    for (uint64_t b = next.fetch_add(1); b < blocks; b = next.fetch_add(1)) RunBlock(g, b);
  };
  std::vector<std::thread> workers;
  for (uint64_t i = 1; i < host_threads; ++i) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  return cudaSuccess;
}

namespace detail {

const ThreadContext& Current() { return Self(); }

bool InKernel() { return tls_current != nullptr; }

int SyncThreads(int predicate, int* arrived) {
  Thread& t = Self();
  t.predicate = predicate;
  t.state = State::kBarrier;
  Yield(t);
  if (arrived != nullptr) *arrived = t.barrier_arrived;
  return t.barrier_count;
}

void WarpShuffle(WarpOp op, unsigned mask, const void* value, int size, int b, int width,
                 void* result) {
  Thread& t = Self();
  if (!(mask & t.lane_bit)) Fatal("a warp collective's mask does not include the calling lane");
  if (width < 1 || width > kWarpSize || (width & (width - 1)) != 0) {
    Fatal("shuffle width must be a power of 2 in [1, 32]");
  }
  if (size < 0 || size > 16) Fatal("shuffle of a value over 16 bytes");
  t.op = op;
  t.mask = mask;
  t.size = size;
  t.b = b;
  t.width = width;
  t.predicate = 0;
  if (size > 0) std::memcpy(t.value, value, static_cast<size_t>(size));
  t.state = State::kWarp;
  Yield(t);
  if (size > 0) std::memcpy(result, t.result, static_cast<size_t>(size));
}

unsigned WarpVote(WarpOp op, unsigned mask, int predicate) {
  Thread& t = Self();
  if (!(mask & t.lane_bit)) Fatal("a warp collective's mask does not include the calling lane");
  t.op = op;
  t.mask = mask;
  t.size = 0;
  t.predicate = predicate;
  t.state = State::kWarp;
  Yield(t);
  return t.vote;
}

void Fatal(const char* message) {
  if (tls_current != nullptr) Die(Coordinates(*tls_current) + ": " + message);
  Die(message);
}

}  // namespace detail
}  // namespace egmla::cuda::emu
