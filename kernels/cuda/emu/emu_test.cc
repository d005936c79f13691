// The SIMT emulator's self-tests (issue 16): barriers, each shuffle, votes, atomics under
// contention, shared memory, launch errors, wmma; and the planted faults: a missing
// __syncthreads gives a wrong sum, a lane that exited before a shuffle is reported as a deadlock.
#include "kernels/cuda/emu/emu.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu/emu_test_kernels.h"

namespace egmla::cuda::emu_test {
namespace {

using ::egmla::cuda::emu::Options;
using ::egmla::cuda::emu::Order;

// Sets the emulator's options for one test and restores them after.
class ScopedOptions {
 public:
  explicit ScopedOptions(const Options& options) : saved_(emu::GetOptions()) {
    emu::SetOptions(options);
  }
  ~ScopedOptions() { emu::SetOptions(saved_); }

 private:
  Options saved_;
};

std::vector<float> Iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 97);
  return v;
}

float Sum(const std::vector<float>& v, size_t begin, size_t end) {
  float s = 0.0f;  // small integers: exact in any order
  for (size_t i = begin; i < end; ++i) s += v[i];
  return s;
}

// --- Barriers ------------------------------------------------------------------------------------

TEST(EmuBarrierTest, BlockReductionThroughSharedMemoryIsCorrect) {
  constexpr int kBlocks = 6, kThreads = 256;
  const std::vector<float> in = Iota(kBlocks * kThreads);
  for (const Order order : {Order::kShuffled, Order::kReverse, Order::kForward}) {
    for (const uint64_t seed : {1u, 2u, 3u}) {
      ScopedOptions options({.order = order, .seed = seed, .host_threads = 2});
      std::vector<float> out(kBlocks, -1.0f);
      ASSERT_EQ(LaunchBlockSum(in.data(), out.data(), kBlocks, kThreads, true), cudaSuccess);
      for (int b = 0; b < kBlocks; ++b) {
        EXPECT_EQ(out[b], Sum(in, b * kThreads, (b + 1) * kThreads)) << "block " << b;
      }
    }
  }
}

// Planted fault: the same kernel without its __syncthreads reads partial sums that were not
// written yet (NaN, or stale values) under the shuffled order, whatever the seed.
TEST(EmuBarrierTest, MissingSyncthreadsGivesAWrongSum) {
  constexpr int kBlocks = 4, kThreads = 256;
  const std::vector<float> in = Iota(kBlocks * kThreads);
  for (const uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    ScopedOptions options({.order = Order::kShuffled, .seed = seed});
    std::vector<float> out(kBlocks, -1.0f);
    ASSERT_EQ(LaunchBlockSum(in.data(), out.data(), kBlocks, kThreads, false), cudaSuccess);
    for (int b = 0; b < kBlocks; ++b) {
      EXPECT_NE(out[b], Sum(in, b * kThreads, (b + 1) * kThreads))
          << "seed " << seed << " block " << b << ": the missing barrier went unnoticed";
    }
  }
}

TEST(EmuBarrierTest, ExitedThreadsCountAsArrived) {
  constexpr int kThreads = 96;
  std::vector<int> out(kThreads, 0);
  ASSERT_EQ(LaunchBarrierWithExitedThreads(out.data(), kThreads), cudaSuccess);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(out[t], t % 2 == 0 ? 1 : 0) << "thread " << t;
}

TEST(EmuBarrierTest, SyncthreadsCountCountsPredicates) {
  std::vector<unsigned> out(64 * 6);
  ASSERT_EQ(LaunchVotes(out.data()), cudaSuccess);
  for (int t = 0; t < 64; ++t) EXPECT_EQ(out[6 * t + 5], 16u) << "thread " << t;
}

// --- Coordinates ---------------------------------------------------------------------------------

TEST(EmuIndexTest, EveryThreadSeesItsOwnCoordinates) {
  const dim3 grid(3, 2, 2), block(8, 4, 2);
  const size_t total = size_t{3} * 2 * 2 * 8 * 4 * 2;
  std::vector<uint32_t> out(total, 0xffffffffu);
  ASSERT_EQ(LaunchIndex(out.data(), grid, block), cudaSuccess);
  for (size_t i = 0; i < total; ++i) ASSERT_EQ(out[i], i);
}

// --- Warp shuffles and votes ---------------------------------------------------------------------

// The PTX shfl.sync rules, for one lane (b & 31; a source outside the segment: the own value).
int ExpectedShuffle(int kind, int lane, int warp, int width) {
  const int base = lane / width * width;
  const int offset = lane % width;
  const auto value = [warp](int l) { return 1000 * warp + l; };
  switch (kind) {
    case 0:
      return value(base + (7 * lane + 3) % 32 % width);
    case 1:
      return offset >= 3 ? value(lane - 3) : value(lane);
    case 2:
      return offset + 5 < width ? value(lane + 5) : value(lane);
    default:
      return (lane ^ 6) < base + width ? value(lane ^ 6) : value(lane);
  }
}

TEST(EmuShuffleTest, EachVariantAtEachWidth) {
  constexpr int kThreads = 64;
  for (const int width : {32, 16, 8, 4, 2, 1}) {
    std::vector<int> out(8 * kThreads, -1);
    ASSERT_EQ(LaunchShuffles(out.data(), kThreads, width), cudaSuccess);
    for (int t = 0; t < kThreads; ++t) {
      const int lane = t % 32, warp = t / 32;
      for (int kind = 0; kind < 4; ++kind) {
        EXPECT_EQ(out[8 * t + kind], ExpectedShuffle(kind, lane, warp, width))
            << "width " << width << " thread " << t << " variant " << kind;
      }
      EXPECT_EQ(out[8 * t + 4], 32 * 33 / 2) << "float butterfly sum, thread " << t;
      EXPECT_EQ(out[8 * t + 5], 1000 * warp + 31 - lane) << "double, thread " << t;
      EXPECT_EQ(out[8 * t + 6], lane == 31 ? 31 : lane + 1) << "bf16, thread " << t;
      EXPECT_EQ(out[8 * t + 7], 1000 * warp + (lane ^ 1)) << "int64, thread " << t;
    }
  }
}

TEST(EmuShuffleTest, PartialWarpShufflesAmongItsLanes) {
  constexpr int kThreads = 48;  // warp 1 has lanes 0..15
  std::vector<int> out(8 * kThreads, -1);
  ASSERT_EQ(LaunchShuffles(out.data(), kThreads, 16), cudaSuccess);
  for (int t = 32; t < kThreads; ++t) {
    for (int kind = 0; kind < 4; ++kind) {
      EXPECT_EQ(out[8 * t + kind], ExpectedShuffle(kind, t % 32, 1, 16)) << "thread " << t;
    }
  }
}

TEST(EmuVoteTest, BallotAnyAll) {
  std::vector<unsigned> out(64 * 6);
  ASSERT_EQ(LaunchVotes(out.data()), cudaSuccess);
  unsigned every_third = 0;
  for (int l = 0; l < 32; l += 3) every_third |= 1u << l;
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32;
    EXPECT_EQ(out[6 * t + 0], every_third) << "thread " << t;
    EXPECT_EQ(out[6 * t + 1], 1u) << "thread " << t;
    EXPECT_EQ(out[6 * t + 2], 1u) << "thread " << t;
    EXPECT_EQ(out[6 * t + 3], 0u) << "thread " << t;
    EXPECT_EQ(out[6 * t + 4], lane < 16 ? 0x0000aaaau : 0xaaaa0000u) << "thread " << t;
  }
}

// Planted fault: a lane that returned before a full-mask shuffle never arrives; the device would
// hang, the emulator names the waiting lanes and aborts.
TEST(EmuShuffleDeathTest, ExitedLaneInTheMaskIsADeadlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<int> out(32);
  EXPECT_DEATH((void)LaunchShuffleWithExitedLane(out.data()), "deadlock");
}

// --- Atomics -------------------------------------------------------------------------------------

TEST(EmuAtomicTest, AllThreadsOfSeveralBlocksUnderContention) {
  constexpr int kBlocks = 8, kThreads = 256, kTotal = kBlocks * kThreads;
  ScopedOptions options({.host_threads = 4});
  for (int run = 0; run < 3; ++run) {
    std::vector<int> ints = {0, -1, 0, 0, 0};
    std::vector<unsigned> uints = {0, 0};
    std::vector<float> floats = {0.0f};
    ASSERT_EQ(LaunchAtomics(ints.data(), uints.data(), floats.data(), kBlocks, kThreads),
              cudaSuccess);
    EXPECT_EQ(ints[0], kTotal);
    EXPECT_EQ(uints[0], 2u * kTotal);
    EXPECT_EQ(floats[0], static_cast<float>(kTotal));
    EXPECT_EQ(ints[1], kTotal - 1);
    EXPECT_EQ(ints[2], kTotal);
    // atomicExch hands every value 1..kTotal out once: the old values seen plus the last one left
    // are 0 + 1 + ... + kTotal.
    EXPECT_EQ(int64_t{ints[4]} + ints[3], int64_t{kTotal} * (kTotal + 1) / 2);
    EXPECT_GE(uints[1], 1u);
    EXPECT_LE(uints[1], static_cast<unsigned>(kTotal));
  }
}

// --- Shared memory -------------------------------------------------------------------------------

TEST(EmuSharedMemoryTest, EveryBlockStartsWithNan) {
  constexpr int kBlocks = 5, kThreads = 128;
  ScopedOptions options({.host_threads = 1});  // blocks one after another on the same thread
  std::vector<int> out(kBlocks * kThreads, 0);
  ASSERT_EQ(LaunchSharedStartsNan(out.data(), kBlocks, kThreads), cudaSuccess);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], 1) << "thread " << i;
}

// --- Out-of-bounds accesses (planted faults, caught by ASan) -------------------------------------

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

TEST(EmuAsanDeathTest, GlobalWritePastTheEndIsReported) {
  if (!kAsan) GTEST_SKIP() << "needs -fsanitize=address";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> out(64);
  EXPECT_DEATH((void)LaunchGlobalWriteOnePast(out.data(), 64), "heap-buffer-overflow");
}

TEST(EmuAsanDeathTest, SharedWritePastTheEndIsReported) {
  if (!kAsan) GTEST_SKIP() << "needs -fsanitize=address";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)LaunchSharedWriteOnePast(64), "heap-buffer-overflow");
}

// --- Launch errors -------------------------------------------------------------------------------

TEST(EmuLaunchTest, BadConfigurationsFailAsOnTheDevice) {
  ASSERT_EQ(emu::TakeLastError(), cudaSuccess);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(1025), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(32, 32, 2), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(1, 1, 65), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(0), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(0), dim3(32), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(1, 0, 1), dim3(32), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(1, 65536), dim3(32), 0), cudaErrorInvalidConfiguration);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(32), 48 * 1024 + 1), cudaErrorInvalidValue);
  // Launch returns the error and clears it, as cudaGetLastError after <<<>>>.
  EXPECT_EQ(emu::TakeLastError(), cudaSuccess);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(1024), 48 * 1024), cudaSuccess);
  // The largest valid configuration (checked only: it would run 2^61 threads).
  EXPECT_EQ(emu::CheckLaunchConfig(EmptyKernelAddress(), dim3(2147483647u, 65535, 65535),
                                   dim3(1024), 48 * 1024),
            cudaSuccess);
  EXPECT_EQ(emu::CheckLaunchConfig(EmptyKernelAddress(), dim3(2147483648u), dim3(1), 0),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(emu::TakeLastError(), cudaSuccess);  // checking records nothing
}

TEST(EmuLaunchTest, TheErrorIsRecordedForTheNextGetLastError) {
  ASSERT_EQ(emu::TakeLastError(), cudaSuccess);
  const cudaError_t error = emu::LaunchGrid(
      EmptyKernelAddress(), dim3(1), dim3(2048), 0, [](void*) {}, nullptr);
  EXPECT_EQ(error, cudaErrorInvalidConfiguration);
  EXPECT_EQ(emu::PeekLastError(), cudaErrorInvalidConfiguration);
  // A later successful launch does not clear it; taking it does.
  EXPECT_EQ(emu::LaunchGrid(
                EmptyKernelAddress(), dim3(1), dim3(32), 0, [](void*) {}, nullptr),
            cudaSuccess);
  EXPECT_EQ(emu::TakeLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(emu::TakeLastError(), cudaSuccess);
}

TEST(EmuLaunchTest, MoreThan48KiBOfSharedMemoryNeedsTheAttribute) {
  const void* kernel = EmptyKernelAddress();
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(32), 100 * 1024), cudaErrorInvalidValue);
  EXPECT_EQ(emu::FuncSetMaxDynamicSharedMemorySize(kernel, 227 * 1024 + 1), cudaErrorInvalidValue);
  ASSERT_EQ(emu::FuncSetMaxDynamicSharedMemorySize(kernel, 227 * 1024), cudaSuccess);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(32), 100 * 1024), cudaSuccess);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(32), 227 * 1024), cudaSuccess);
  EXPECT_EQ(LaunchEmpty(dim3(1), dim3(32), 227 * 1024 + 1), cudaErrorInvalidValue);
  ASSERT_EQ(emu::FuncSetMaxDynamicSharedMemorySize(kernel, 48 * 1024), cudaSuccess);
}

// --- wmma ----------------------------------------------------------------------------------------

uint16_t Bf16Bits(float f) {  // round to nearest even (finite inputs)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
float Bf16Value(uint16_t bits) {
  const uint32_t u = uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(EmuWmmaTest, Bf16MmaMatchesAPlainGemm) {
  constexpr int kN = 16;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<uint16_t> a(kN * kN), b(kN * kN);
  std::vector<float> c(kN * kN), d(kN * kN, NAN);
  for (uint16_t& v : a) v = Bf16Bits(uniform(rng));
  for (uint16_t& v : b) v = Bf16Bits(uniform(rng));
  for (float& v : c) v = uniform(rng);
  ASSERT_EQ(LaunchWmmaBf16(a.data(), b.data(), c.data(), d.data()), cudaSuccess);
  for (int m = 0; m < kN; ++m) {
    for (int n = 0; n < kN; ++n) {
      double want = 0.0;  // a row-major, b col-major: b(k, n) at b[n * 16 + k]
      for (int k = 0; k < kN; ++k) {
        want += double{Bf16Value(a[m * kN + k])} * Bf16Value(b[n * kN + k]);
      }
      want += c[m * kN + n];
      EXPECT_NEAR(d[m * kN + n], want, 1e-4) << "(" << m << ", " << n << ")";
    }
  }
}

}  // namespace
}  // namespace egmla::cuda::emu_test
