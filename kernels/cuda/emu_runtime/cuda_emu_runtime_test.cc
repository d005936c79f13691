// The emulated CUDA runtime and cuBLAS (runtime.cc, cublas.cc): what the device layer relies on,
// each checked against what the real libraries do.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cuda/emu_runtime/device_memory.h"
#include "kernels/cuda/emu_runtime/last_error.h"

namespace egmla::cuda::emu {
namespace {

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class ScopedDeviceMemory : public ScopedEnv {
 public:
  explicit ScopedDeviceMemory(const char* bytes) : ScopedEnv("EGMLA_EMU_DEVICE_MEMORY", bytes) {}
};

class EmuRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)cudaGetLastError();
    in_use_ = DeviceMemoryInUse();
  }
  void TearDown() override {
    EXPECT_EQ(DeviceMemoryInUse(), in_use_) << "the test leaked device memory";
    (void)cudaGetLastError();
  }

 private:
  size_t in_use_ = 0;
};

// --- Memory --------------------------------------------------------------------------------

TEST_F(EmuRuntimeTest, MallocCopyMemsetFreeRoundTrip) {
  void* a = nullptr;
  void* b = nullptr;
  ASSERT_EQ(cudaMalloc(&a, 1000), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&b, 1000), cudaSuccess);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 256, 0u) << "cudaMalloc aligns to 256 bytes";
  std::vector<uint8_t> in(1000), out(1000, 0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7 + 3);

  ASSERT_EQ(cudaMemcpy(a, in.data(), 1000, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(b, a, 1000, cudaMemcpyDeviceToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(out.data(), b, 1000, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(out, in);

  // Async forms on a created stream are complete on return; cudaMemcpyDefault infers the kind.
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMemsetAsync(static_cast<char*>(a) + 10, 0xab, 20, stream), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(out.data(), a, 1000, cudaMemcpyDefault, stream), cudaSuccess);
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i], i >= 10 && i < 30 ? 0xab : in[i]) << i;
  }
  ASSERT_EQ(cudaMemset(b, 0, 1000), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(out.data(), b, 1000, cudaMemcpyDeviceToHost, nullptr), cudaSuccess);
  EXPECT_EQ(out, std::vector<uint8_t>(1000, 0));
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);

  EXPECT_EQ(cudaFree(a), cudaSuccess);
  EXPECT_EQ(cudaFree(b), cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(EmuRuntimeTest, FreshMemoryReadsAsNaN) {
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 8), cudaSuccess);
  float f;
  ASSERT_EQ(cudaMemcpy(&f, p, 4, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_TRUE(std::isnan(f));
  uint16_t bf16_bits;
  ASSERT_EQ(cudaMemcpy(&bf16_bits, p, 2, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(bf16_bits, 0xffff);  // a NaN in bf16 and in f16
  EXPECT_EQ(cudaFree(p), cudaSuccess);
}

TEST_F(EmuRuntimeTest, SizeZero) {
  void* p = reinterpret_cast<void*>(0x1234);
  EXPECT_EQ(cudaMalloc(&p, 0), cudaSuccess);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(nullptr, nullptr, 0, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(nullptr, 0, 0), cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(EmuRuntimeTest, FreeOfAnUnknownPointerIsInvalidValue) {
  int host = 0;
  EXPECT_EQ(cudaFree(&host), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 64), cudaSuccess);
  EXPECT_EQ(cudaFree(static_cast<char*>(p) + 16), cudaErrorInvalidValue) << "an inner pointer";
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaErrorInvalidValue) << "a double free";
  EXPECT_EQ(cudaMalloc(nullptr, 64), cudaErrorInvalidValue);
}

TEST_F(EmuRuntimeTest, AllocationBeyondTheDeviceMemoryIsRefused) {
  const ScopedDeviceMemory memory("4096");
  size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  EXPECT_EQ(total_bytes, 4096u);
  EXPECT_EQ(free_bytes, 4096u);

  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 4097), cudaErrorMemoryAllocation);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "cudaGetLastError clears";
  ASSERT_EQ(cudaMalloc(&p, 4000), cudaSuccess);
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  EXPECT_EQ(free_bytes, 96u);
  void* q = nullptr;
  EXPECT_EQ(cudaMalloc(&q, 97), cudaErrorMemoryAllocation);
  ASSERT_EQ(cudaMalloc(&q, 96), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&p, 4000), cudaSuccess) << "freed memory is available again";
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_EQ(cudaFree(q), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&p, size_t{1} << 50), cudaErrorMemoryAllocation);
}

TEST_F(EmuRuntimeTest, DeviceMemoryIsParsedStrictly) {
  EXPECT_EQ(ParseDeviceMemory("0"), 0u);
  EXPECT_EQ(ParseDeviceMemory("8589934592"), size_t{8} << 30);
  EXPECT_EQ(ParseDeviceMemory("18446744073709551615"), SIZE_MAX);
  EXPECT_EQ(ParseDeviceMemory("18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseDeviceMemory(""), std::nullopt);
  EXPECT_EQ(ParseDeviceMemory(nullptr), std::nullopt);
  EXPECT_EQ(ParseDeviceMemory("8G"), std::nullopt);
  EXPECT_EQ(ParseDeviceMemory("-1"), std::nullopt);
  EXPECT_EQ(ParseDeviceMemory(" 1"), std::nullopt);
}

TEST_F(EmuRuntimeTest, CopiesOutsideAnAllocationAreInvalidValue) {
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 64), cudaSuccess);
  std::vector<uint8_t> host(128);
  EXPECT_EQ(cudaMemcpy(p, host.data(), 65, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), static_cast<char*>(p) + 60, 8, cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), host.data() + 64, 8, cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue)
      << "a host pointer as the device side";
  EXPECT_EQ(cudaMemset(static_cast<char*>(p) + 1, 0, 64), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(host.data(), 0, 8), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(p, host.data(), 8, static_cast<cudaMemcpyKind>(7)),
            cudaErrorInvalidMemcpyDirection);
  EXPECT_EQ(cudaMemcpy(p, nullptr, 8, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  // Exactly to the end is inside.
  EXPECT_EQ(cudaMemcpy(static_cast<char*>(p) + 56, host.data(), 8, cudaMemcpyHostToDevice),
            cudaSuccess);
  EXPECT_TRUE(IsDeviceRange(p, 64));
  EXPECT_FALSE(IsDeviceRange(p, 65));
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_FALSE(IsDeviceRange(p, 1)) << "freed";
}

#if defined(__SANITIZE_ADDRESS__)
#define EGMLA_EMU_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EGMLA_EMU_TEST_ASAN 1
#endif
#endif

TEST_F(EmuRuntimeTest, AddressSanitizerSeesAWritePastAnAllocation) {
#ifdef EGMLA_EMU_TEST_ASAN
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 100), cudaSuccess);
  EXPECT_DEATH(static_cast<volatile char*>(p)[100] = 1, "heap-buffer-overflow");
  EXPECT_EQ(cudaFree(p), cudaSuccess);
#else
  GTEST_SKIP() << "not built with AddressSanitizer";
#endif
}

// --- Device --------------------------------------------------------------------------------

TEST_F(EmuRuntimeTest, OneEmulatedHopperClassDevice) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_STREQ(prop.name, "egmla SIMT emulator");
  EXPECT_EQ(prop.major, 9);
  EXPECT_EQ(prop.minor, 0);
  EXPECT_EQ(prop.sharedMemPerBlock, 48u * 1024);
  EXPECT_EQ(prop.sharedMemPerBlockOptin, 227u * 1024);
  EXPECT_EQ(prop.maxThreadsPerBlock, 1024);
  EXPECT_EQ(prop.warpSize, 32);
  EXPECT_EQ(prop.multiProcessorCount, 4);
  EXPECT_EQ(prop.maxThreadsDim[0], 1024);
  EXPECT_EQ(prop.maxThreadsDim[1], 1024);
  EXPECT_EQ(prop.maxThreadsDim[2], 64);
  EXPECT_EQ(prop.maxGridSize[0], 2147483647);
  EXPECT_EQ(prop.maxGridSize[1], 65535);
  EXPECT_EQ(prop.maxGridSize[2], 65535);
  EXPECT_GT(prop.l2CacheSize, 0);
  {
    const ScopedDeviceMemory memory("12345");
    ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    EXPECT_EQ(prop.totalGlobalMem, 12345u);
  }
  unsetenv("EGMLA_EMU_DEVICE_MEMORY");
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_EQ(prop.totalGlobalMem, kDefaultDeviceMemory);

  int value = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0),
            cudaSuccess);
  EXPECT_EQ(value, 227 * 1024);
  ASSERT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrComputeCapabilityMajor, 0), cudaSuccess);
  EXPECT_EQ(value, 9);
  ASSERT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
  EXPECT_EQ(value, 4);

  EXPECT_EQ(cudaGetDeviceProperties(&prop, 1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetDeviceProperties(&prop, -1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaDeviceGetAttribute(&value, cudaDevAttrWarpSize, 1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaSetDevice(0), cudaSuccess);
  int device = -1;
  EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
  EXPECT_EQ(device, 0);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  int version = 0;
  EXPECT_EQ(cudaRuntimeGetVersion(&version), cudaSuccess);
  EXPECT_EQ(version, CUDART_VERSION);
  EXPECT_EQ(cudaDriverGetVersion(&version), cudaSuccess);
  EXPECT_EQ(version, CUDART_VERSION);
}

TEST_F(EmuRuntimeTest, WithoutADeviceEveryDeviceCallFails) {
  const ScopedEnv no_device("EGMLA_EMU_NO_DEVICE", "1");
  int count = 5;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaErrorNoDevice);
  EXPECT_EQ(count, 0);
  cudaDeviceProp prop{};
  EXPECT_EQ(cudaGetDeviceProperties(&prop, 0), cudaErrorNoDevice);
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 16), cudaErrorNoDevice);
  cudaStream_t stream = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaErrorNoDevice);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorNoDevice);
  cublasHandle_t handle = nullptr;
  EXPECT_EQ(cublasCreate(&handle), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cudaGetLastError(), cudaErrorNoDevice);
  EXPECT_STREQ(cudaGetErrorString(cudaErrorNoDevice), "no CUDA-capable device is detected");
}

// --- Errors --------------------------------------------------------------------------------

TEST_F(EmuRuntimeTest, LastErrorIsPerThreadPeekedAndCleared) {
  EXPECT_EQ(cudaSetDevice(3), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidDevice) << "a success does not clear it";
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidDevice) << "peeking does not clear it";
  cudaError_t other_thread = cudaErrorUnknown;
  std::thread([&] { other_thread = cudaPeekAtLastError(); }).join();
  EXPECT_EQ(other_thread, cudaSuccess) << "the slot is per host thread";
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);

  // The launch emulator's hook.
  SetLastError(cudaErrorInvalidConfiguration);
  SetLastError(cudaSuccess);  // leaves it
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
  SetLastError(cudaErrorInvalidValue);  // the latest error wins, as in the real runtime
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(EmuRuntimeTest, ErrorNamesAndStrings) {
  EXPECT_STREQ(cudaGetErrorName(cudaSuccess), "cudaSuccess");
  EXPECT_STREQ(cudaGetErrorString(cudaSuccess), "no error");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidValue), "cudaErrorInvalidValue");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorMemoryAllocation), "cudaErrorMemoryAllocation");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorIllegalAddress), "cudaErrorIllegalAddress");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorNoDevice), "cudaErrorNoDevice");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorUnknown), "cudaErrorUnknown");
  EXPECT_STREQ(cudaGetErrorName(static_cast<cudaError_t>(12345)), "unrecognized error code");
  EXPECT_STREQ(cudaGetErrorString(static_cast<cudaError_t>(12345)), "unrecognized error code");
}

// --- Streams and events --------------------------------------------------------------------

TEST_F(EmuRuntimeTest, StreamsAndEvents) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  EXPECT_NE(stream, nullptr);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(cudaStreamPerThread), cudaSuccess);
  EXPECT_EQ(cudaStreamQuery(stream), cudaSuccess);

  cudaEvent_t start = nullptr, stop = nullptr, untimed = nullptr;
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  ASSERT_EQ(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming), cudaSuccess);
  float ms = -1;
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaErrorInvalidResourceHandle)
      << "never recorded";
  ASSERT_EQ(cudaEventRecord(start, stream), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(stop, stream), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(untimed, nullptr), cudaSuccess);
  EXPECT_EQ(cudaEventSynchronize(stop), cudaSuccess);
  EXPECT_EQ(cudaEventQuery(stop), cudaSuccess);
  EXPECT_EQ(cudaStreamWaitEvent(stream, stop, 0), cudaSuccess);
  ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GE(ms, 0.0f);
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, untimed), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaEventDestroy(start), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(stop), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(untimed), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(untimed), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaEventRecord(untimed, nullptr), cudaErrorInvalidResourceHandle);

  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamDestroy(nullptr), cudaErrorInvalidResourceHandle);
  int byte = 0;
  EXPECT_EQ(cudaMemsetAsync(&byte, 0, 1, stream), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamCreateWithFlags(&stream, 0x8), cudaErrorInvalidValue);
  EXPECT_EQ(cudaStreamCreate(nullptr), cudaErrorInvalidValue);
}

// --- cuBLAS --------------------------------------------------------------------------------

class EmuCublasTest : public EmuRuntimeTest {
 protected:
  void SetUp() override {
    EmuRuntimeTest::SetUp();
    ASSERT_EQ(cublasCreate(&handle_), CUBLAS_STATUS_SUCCESS);
  }
  void TearDown() override {
    EXPECT_EQ(cublasDestroy(handle_), CUBLAS_STATUS_SUCCESS);
    EmuRuntimeTest::TearDown();
  }
  cublasHandle_t handle_ = nullptr;
};

TEST_F(EmuCublasTest, HandleStreamAndMathMode) {
  cudaStream_t stream = nullptr, got = reinterpret_cast<cudaStream_t>(0x1);
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  EXPECT_EQ(cublasGetStream(handle_, &got), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(got, nullptr) << "a new handle uses the default stream";
  EXPECT_EQ(cublasSetStream(handle_, stream), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasGetStream(handle_, &got), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(got, stream);
  cublasMath_t mode = CUBLAS_TF32_TENSOR_OP_MATH;
  EXPECT_EQ(cublasGetMathMode(handle_, &mode), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(mode, CUBLAS_DEFAULT_MATH);
  const auto strict = static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                                CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
  EXPECT_EQ(cublasSetMathMode(handle_, strict), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasGetMathMode(handle_, &mode), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(mode, strict);
  EXPECT_EQ(cublasSetStream(handle_, nullptr), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);

  EXPECT_EQ(cublasCreate(nullptr), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSetStream(nullptr, nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cublasSetMathMode(nullptr, strict), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cublasDestroy(nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
  cublasHandle_t other = nullptr;
  ASSERT_EQ(cublasCreate(&other), CUBLAS_STATUS_SUCCESS);
  EXPECT_NE(other, handle_);
  EXPECT_EQ(cublasDestroy(other), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasDestroy(other), CUBLAS_STATUS_NOT_INITIALIZED) << "destroyed twice";
  EXPECT_EQ(cublasSetStream(other, nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
}

TEST_F(EmuCublasTest, StatusNamesAndStrings) {
  EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE");
  EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED");
  EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_SUCCESS), "CUBLAS_STATUS_SUCCESS");
  EXPECT_STRNE(cublasGetStatusString(CUBLAS_STATUS_EXECUTION_FAILED), "");
}

// A matrix element type as cuBLAS stores it.
float Round(cudaDataType type, float v) {
  switch (type) {
    case CUDA_R_16BF:
      return __bfloat162float(__float2bfloat16_rn(v));
    case CUDA_R_16F:
      return __half2float(__float2half_rn(v));
    default:
      return v;
  }
}
size_t Size(cudaDataType type) { return type == CUDA_R_32F ? 4 : 2; }
void Put(std::vector<uint8_t>& bytes, int64_t index, cudaDataType type, float v) {
  if (type == CUDA_R_16BF) {
    const __nv_bfloat16 x = __float2bfloat16_rn(v);
    std::memcpy(bytes.data() + index * 2, &x, 2);
  } else if (type == CUDA_R_16F) {
    const __half x = __float2half_rn(v);
    std::memcpy(bytes.data() + index * 2, &x, 2);
  } else {
    std::memcpy(bytes.data() + index * 4, &v, 4);
  }
}
float Get(const std::vector<uint8_t>& bytes, int64_t index, cudaDataType type) {
  if (type == CUDA_R_16BF) {
    __nv_bfloat16 x;
    std::memcpy(&x, bytes.data() + index * 2, 2);
    return __bfloat162float(x);
  }
  if (type == CUDA_R_16F) {
    __half x;
    std::memcpy(&x, bytes.data() + index * 2, 2);
    return __half2float(x);
  }
  float x;
  std::memcpy(&x, bytes.data() + index * 4, 4);
  return x;
}

// A host matrix of `elements` values of `type`, with its fp32 values, and a device copy.
struct Matrix {
  cudaDataType type;
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  void* device = nullptr;

  Matrix(cudaDataType t, int64_t elements, uint32_t seed) : type(t) {
    bytes.resize(static_cast<size_t>(elements) * Size(t));
    values.resize(static_cast<size_t>(elements));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (int64_t i = 0; i < elements; ++i) {
      values[i] = Round(t, uniform(rng));
      Put(bytes, i, t, values[i]);
    }
    EXPECT_EQ(cudaMalloc(&device, bytes.size()), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(device, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Matrix() { EXPECT_EQ(cudaFree(device), cudaSuccess); }
  std::vector<uint8_t> Download() const {
    std::vector<uint8_t> out(bytes.size());
    EXPECT_EQ(cudaMemcpy(out.data(), device, out.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
};

struct GemmCase {
  cublasOperation_t transa, transb;
  cudaDataType ab_type, c_type;
};

void PrintTo(const GemmCase& g, std::ostream* os) {
  *os << "transa " << g.transa << " transb " << g.transb << " A/B type " << g.ab_type << " C type "
      << g.c_type;
}

std::string CaseName(const ::testing::TestParamInfo<GemmCase>& info) {
  const auto op = [](cublasOperation_t o) { return o == CUBLAS_OP_N ? "N" : "T"; };
  const auto type = [](cudaDataType t) {
    return t == CUDA_R_16BF ? "bf16" : t == CUDA_R_16F ? "f16" : "f32";
  };
  return std::string(op(info.param.transa)) + op(info.param.transb) + "_" +
         type(info.param.ab_type) + "_to_" + type(info.param.c_type);
}

class EmuGemmTest : public EmuCublasTest, public ::testing::WithParamInterface<GemmCase> {};

// C = alpha op(A) op(B) + beta C against a plain triple loop over the same fp32 values, with
// leading dimensions above the minimum (the padding must be neither read into the result nor
// written), for `batch` products `stride` elements apart.
void CheckGemm(cublasHandle_t handle, const GemmCase& g, int m, int n, int k, int batch,
               float alpha, float beta) {
  const int a_rows = g.transa == CUBLAS_OP_N ? m : k, a_cols = g.transa == CUBLAS_OP_N ? k : m;
  const int b_rows = g.transb == CUBLAS_OP_N ? k : n, b_cols = g.transb == CUBLAS_OP_N ? n : k;
  const int lda = a_rows + 3, ldb = b_rows + 2, ldc = m + 5;
  const int64_t stride_a = int64_t{lda} * a_cols + 7, stride_b = int64_t{ldb} * b_cols + 1;
  const int64_t stride_c = int64_t{ldc} * n + 4;
  Matrix a(g.ab_type, stride_a * batch, 1), b(g.ab_type, stride_b * batch, 2);
  Matrix c(g.c_type, stride_c * batch, 3);
  cublasStatus_t status;
  if (batch == 1) {
    status = cublasGemmEx(handle, g.transa, g.transb, m, n, k, &alpha, a.device, g.ab_type, lda,
                          b.device, g.ab_type, ldb, &beta, c.device, g.c_type, ldc,
                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  } else {
    status = cublasGemmStridedBatchedEx(handle, g.transa, g.transb, m, n, k, &alpha, a.device,
                                        g.ab_type, lda, stride_a, b.device, g.ab_type, ldb,
                                        stride_b, &beta, c.device, g.c_type, ldc, stride_c, batch,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  }
  ASSERT_EQ(status, CUBLAS_STATUS_SUCCESS);
  const std::vector<uint8_t> got = c.Download();
  const float ulp = g.c_type == CUDA_R_16BF  ? std::ldexp(1.0f, -8)
                    : g.c_type == CUDA_R_16F ? std::ldexp(1.0f, -11)
                                             : std::ldexp(1.0f, -24);
  int failures = 0;
  for (int64_t p = 0; p < batch; ++p) {
    for (int64_t idx = 0; idx < stride_c; ++idx) {
      const int64_t i = idx % ldc, j = idx / ldc, flat = p * stride_c + idx;
      if (i >= m || j >= n) {  // padding: untouched
        if (std::memcmp(got.data() + flat * Size(g.c_type), c.bytes.data() + flat * Size(g.c_type),
                        Size(g.c_type)) != 0 &&
            ++failures <= 10) {
          ADD_FAILURE() << "batch " << p << " padding element " << idx << " was written";
        }
        continue;
      }
      float sum = 0.0f, abs_sum = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int64_t ai = g.transa == CUBLAS_OP_N ? i + kk * lda : kk + i * lda;
        const int64_t bi = g.transb == CUBLAS_OP_N ? kk + j * ldb : j + kk * ldb;
        const float prod = a.values[p * stride_a + ai] * b.values[p * stride_b + bi];
        sum += prod;
        abs_sum += std::fabs(prod);
      }
      const float old_c = c.values[flat];
      const float ref = alpha * sum + beta * old_c;
      const float tolerance =
          ulp * std::fabs(ref) + static_cast<float>(k + 2) * std::ldexp(1.0f, -23) *
                                     (std::fabs(alpha) * abs_sum + std::fabs(beta * old_c));
      const float value = Get(got, flat, g.c_type);
      if (!(std::fabs(value - ref) <= tolerance) && ++failures <= 10) {
        ADD_FAILURE() << "batch " << p << " C(" << i << ", " << j << "): got " << value << " want "
                      << ref << " tolerance " << tolerance;
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(EmuGemmTest, MatchesATripleLoop) {
  CheckGemm(handle_, GetParam(), 7, 5, 9, /*batch=*/1, 0.75f, -0.5f);
  CheckGemm(handle_, GetParam(), 33, 17, 64, /*batch=*/1, 1.0f, 0.0f);
}

TEST_P(EmuGemmTest, StridedBatchedMatchesATripleLoopPerBatch) {
  CheckGemm(handle_, GetParam(), 6, 4, 11, /*batch=*/3, -1.25f, 2.0f);
}

INSTANTIATE_TEST_SUITE_P(
    OpsAndTypes, EmuGemmTest,
    ::testing::Values(GemmCase{CUBLAS_OP_N, CUBLAS_OP_N, CUDA_R_32F, CUDA_R_32F},
                      GemmCase{CUBLAS_OP_T, CUBLAS_OP_N, CUDA_R_32F, CUDA_R_32F},
                      GemmCase{CUBLAS_OP_N, CUBLAS_OP_T, CUDA_R_32F, CUDA_R_32F},
                      GemmCase{CUBLAS_OP_T, CUBLAS_OP_T, CUDA_R_32F, CUDA_R_32F},
                      GemmCase{CUBLAS_OP_N, CUBLAS_OP_N, CUDA_R_16BF, CUDA_R_16BF},
                      GemmCase{CUBLAS_OP_T, CUBLAS_OP_N, CUDA_R_16BF, CUDA_R_16BF},
                      GemmCase{CUBLAS_OP_N, CUBLAS_OP_T, CUDA_R_16BF, CUDA_R_16BF},
                      GemmCase{CUBLAS_OP_T, CUBLAS_OP_N, CUDA_R_16BF, CUDA_R_32F},
                      GemmCase{CUBLAS_OP_N, CUBLAS_OP_T, CUDA_R_16F, CUDA_R_16F},
                      GemmCase{CUBLAS_OP_T, CUBLAS_OP_N, CUDA_R_16F, CUDA_R_32F}),
    CaseName);

TEST_F(EmuCublasTest, BetaZeroNeverReadsCAndAlphaZeroOnlyScales) {
  Matrix a(CUDA_R_32F, 4, 1), b(CUDA_R_32F, 4, 2);
  void* c = nullptr;
  ASSERT_EQ(cudaMalloc(&c, 4 * sizeof(float)), cudaSuccess);  // fresh memory: NaN
  const float one = 1.0f, zero = 0.0f, two = 2.0f;
  ASSERT_EQ(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.device, CUDA_R_32F, 2,
                         b.device, CUDA_R_32F, 2, &zero, c, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  float got[4];
  ASSERT_EQ(cudaMemcpy(got, c, sizeof(got), cudaMemcpyDeviceToHost), cudaSuccess);
  for (float v : got) EXPECT_FALSE(std::isnan(v));
  // alpha = 0 (and k = 0): C = beta C, A and B unread (null here).
  ASSERT_EQ(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &zero, nullptr, CUDA_R_32F, 2,
                         nullptr, CUDA_R_32F, 2, &two, c, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  float scaled[4];
  ASSERT_EQ(cudaMemcpy(scaled, c, sizeof(scaled), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(scaled[i], 2 * got[i]);
  ASSERT_EQ(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 0, &one, nullptr, CUDA_R_32F, 2,
                         nullptr, CUDA_R_32F, 1, &zero, c, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cudaMemcpy(scaled, c, sizeof(scaled), cudaMemcpyDeviceToHost), cudaSuccess);
  for (float v : scaled) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(cudaFree(c), cudaSuccess);
}

TEST_F(EmuCublasTest, TheLegacyComputeTypeOverloadWorks) {
  // cublas_api.h's C++ overload taking a cudaDataType compute type asks cublasGetMathMode.
  Matrix a(CUDA_R_32F, 1, 1), b(CUDA_R_32F, 1, 2), c(CUDA_R_32F, 1, 3);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a.device, CUDA_R_32F, 1,
                         b.device, CUDA_R_32F, 1, &zero, c.device, CUDA_R_32F, 1, CUDA_R_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(Get(c.Download(), 0, CUDA_R_32F), a.values[0] * b.values[0]);
}

TEST_F(EmuCublasTest, BadArgumentsGetCublasStatuses) {
  Matrix a(CUDA_R_16BF, 64, 1), b(CUDA_R_16BF, 64, 2), c(CUDA_R_16BF, 64, 3);
  const float one = 1.0f;
  const auto gemm = [&](cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                        int k, const void* A, cudaDataType at, int lda, const void* B,
                        cudaDataType bt, int ldb, void* C, cudaDataType ct, int ldc,
                        cublasComputeType_t compute = CUBLAS_COMPUTE_32F,
                        cublasGemmAlgo_t algo = CUBLAS_GEMM_DEFAULT, const float* alpha = nullptr) {
    return cublasGemmEx(h, ta, tb, m, n, k, alpha != nullptr ? alpha : &one, A, at, lda, B, bt, ldb,
                        &one, C, ct, ldc, compute, algo);
  };
  const auto N = CUBLAS_OP_N, T = CUBLAS_OP_T;
  const auto BF = CUDA_R_16BF;
  void *A = a.device, *B = b.device, *C = c.device;
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(nullptr, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_NOT_INITIALIZED);
  // Sizes and leading dimensions.
  EXPECT_EQ(gemm(handle_, N, N, -1, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(handle_, N, N, 4, -1, 4, A, BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, -1, A, BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 2, A, BF, 3, B, BF, 2, C, BF, 4), CUBLAS_STATUS_INVALID_VALUE)
      << "lda < m for op N";
  EXPECT_EQ(gemm(handle_, T, N, 4, 4, 2, A, BF, 1, B, BF, 2, C, BF, 4), CUBLAS_STATUS_INVALID_VALUE)
      << "lda < k for op T";
  EXPECT_EQ(gemm(handle_, T, N, 4, 4, 2, A, BF, 2, B, BF, 2, C, BF, 4), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 2, A, BF, 4, B, BF, 1, C, BF, 4), CUBLAS_STATUS_INVALID_VALUE)
      << "ldb < k for op N";
  EXPECT_EQ(gemm(handle_, N, T, 4, 4, 2, A, BF, 4, B, BF, 3, C, BF, 4), CUBLAS_STATUS_INVALID_VALUE)
      << "ldb < n for op T";
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 3), CUBLAS_STATUS_INVALID_VALUE)
      << "ldc < m";
  EXPECT_EQ(gemm(handle_, N, N, 0, 4, 4, A, BF, 0, B, BF, 4, C, BF, 1), CUBLAS_STATUS_INVALID_VALUE)
      << "lda < max(1, m) even for m = 0";
  EXPECT_EQ(gemm(handle_, N, N, 0, 4, 4, A, BF, 1, B, BF, 4, C, BF, 1), CUBLAS_STATUS_SUCCESS);
  // CUBLAS_OP_CONJG is declared but "not supported in the current release". (A value outside the
  // enum's range cannot be tested from C++: the conversion itself is undefined.)
  EXPECT_EQ(gemm(handle_, CUBLAS_OP_CONJG, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasGemmEx(handle_, N, N, 4, 4, 4, nullptr, A, BF, 4, B, BF, 4, &one, C, BF, 4,
                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_INVALID_VALUE)
      << "null alpha";
  const float beta = 0.0f;
  EXPECT_EQ(
      cublasGemmStridedBatchedEx(handle_, N, N, 2, 2, 2, &one, A, BF, 2, 4, B, BF, 2, 4, &beta, C,
                                 BF, 2, 4, -1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      CUBLAS_STATUS_INVALID_VALUE)
      << "negative batch count";
  // Types, compute types, algorithms.
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, CUDA_R_16F, 4, C, BF, 4),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, CUDA_R_64F, 4, B, CUDA_R_64F, 4, C, CUDA_R_64F, 4),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(gemm(handle_, N, N, 2, 2, 2, A, CUDA_R_32F, 2, B, CUDA_R_32F, 2, C, BF, 2),
            CUBLAS_STATUS_NOT_SUPPORTED)
      << "f32 inputs give f32 only";
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4, CUBLAS_COMPUTE_16F),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4, CUBLAS_COMPUTE_32F,
                 static_cast<cublasGemmAlgo_t>(500)),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4, CUBLAS_COMPUTE_32F,
                 CUBLAS_GEMM_DEFAULT_TENSOR_OP),
            CUBLAS_STATUS_SUCCESS);
  // Memory a GPU could not reach: host memory, or past the allocation.
  std::vector<uint16_t> host(64);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, host.data(), BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, host.data(), BF, 4),
            CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(gemm(handle_, N, N, 8, 8, 8, A, BF, 8, B, BF, 8, C, BF, 8), CUBLAS_STATUS_SUCCESS)
      << "8x8 at ld 8 is exactly the 64 elements";
  EXPECT_EQ(gemm(handle_, N, N, 8, 8, 8, A, BF, 8, B, BF, 8, C, BF, 9),
            CUBLAS_STATUS_EXECUTION_FAILED);
  // A stream destroyed after it was set.
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  ASSERT_EQ(cublasSetStream(handle_, stream), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(gemm(handle_, N, N, 4, 4, 4, A, BF, 4, B, BF, 4, C, BF, 4),
            CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(cublasSetStream(handle_, nullptr), CUBLAS_STATUS_SUCCESS);
}

}  // namespace
}  // namespace egmla::cuda::emu
