// A host implementation of the subset of the CUDA runtime API that the device layer
// (kernels/cuda/runtime/, kernels/cuda/gemm/) and the kernel-launch emulator use, defined against
// the toolkit's own declarations (cuda_runtime_api.h), so that code runs unchanged on the CPU.
//
// The emulated machine: one device, ordinal 0, "egmla SIMT emulator", compute capability 9.0, its
// memory size from EGMLA_EMU_DEVICE_MEMORY (device_memory.h). Deliberate differences from a GPU:
// - Device memory is the host heap: one posix_memalign (256-byte aligned, like cudaMalloc) per
//   cudaMalloc, so AddressSanitizer reports an access past the end of an allocation. Fresh memory
//   is filled with 0xff bytes (NaN in f32, bf16 and f16), so a read of memory never written shows.
// - Every stream executes synchronously: an asynchronous copy or memset is complete when the call
//   returns, cudaStreamSynchronize and cudaDeviceSynchronize have nothing to wait for, and an
//   event records the host time at cudaEventRecord. Code that forgets a synchronisation therefore
//   still works here; only a real device catches that.
// - Copies and memsets check that each device operand lies inside one live allocation (a GPU would
//   fault, or copy into a neighbour): cudaErrorInvalidValue when it does not.
// - Errors are not sticky (no context is ever lost): a failing call returns its error and leaves
//   it as the thread's last error, as the real runtime does; cudaGetLastError clears it.
// - EGMLA_EMU_NO_DEVICE=1 (read at each call) turns the device off: every device call fails with
//   cudaErrorNoDevice and cublasCreate with CUBLAS_STATUS_NOT_INITIALIZED, as on a machine without
//   a GPU, so the no-device paths can be tested too.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "kernels/cuda/emu_runtime/device_memory.h"
#include "kernels/cuda/emu_runtime/error_names.h"
#include "kernels/cuda/emu_runtime/last_error.h"

// The runtime's opaque handle types, defined here: nothing else in a host build defines them.
struct CUstream_st {
  unsigned int flags = 0;
};
struct CUevent_st {
  unsigned int flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};

namespace egmla::cuda::emu {
namespace {

constexpr size_t kAllocationAlignment = 256;  // what cudaMalloc guarantees
constexpr unsigned char kFreshMemoryByte = 0xff;
constexpr char kDeviceName[] = "egmla SIMT emulator";

struct State {
  std::mutex mu;
  std::map<uintptr_t, size_t> allocations;  // start → bytes
  size_t in_use = 0;
  std::unordered_set<const CUstream_st*> streams;
  std::unordered_set<const CUevent_st*> events;
};

// Never destroyed: static destructors elsewhere (a DeviceBuffer in a static) may still call in.
State& GetState() {
  static State* const state = new State;
  return *state;
}

thread_local cudaError_t last_error = cudaSuccess;
thread_local int current_device = 0;

cudaError_t Fail(cudaError_t error) {
  last_error = error;
  return error;
}

// REQUIRES: state.mu held.
bool IsDeviceRangeLocked(const State& state, const void* ptr, size_t bytes) {
  const auto p = reinterpret_cast<uintptr_t>(ptr);
  auto it = state.allocations.upper_bound(p);
  if (it == state.allocations.begin()) return false;
  --it;
  const uintptr_t offset = p - it->first;
  return offset <= it->second && bytes <= it->second - offset;
}

bool IsSpecialStream(cudaStream_t stream) {
  return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
}

cudaError_t CheckDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaDeviceProp MakeDeviceProp() {
  cudaDeviceProp prop{};
  std::snprintf(prop.name, sizeof(prop.name), "%s", kDeviceName);
  prop.totalGlobalMem = DeviceMemoryLimit();
  prop.sharedMemPerBlock = 48 * 1024;
  prop.sharedMemPerBlockOptin = 227 * 1024;
  prop.reservedSharedMemPerBlock = 1024;
  prop.sharedMemPerMultiprocessor = 228 * 1024;
  prop.regsPerBlock = 65536;
  prop.regsPerMultiprocessor = 65536;
  prop.warpSize = 32;
  prop.memPitch = 2147483647;
  prop.maxThreadsPerBlock = 1024;
  prop.maxThreadsDim[0] = 1024;
  prop.maxThreadsDim[1] = 1024;
  prop.maxThreadsDim[2] = 64;
  prop.maxGridSize[0] = 2147483647;
  prop.maxGridSize[1] = 65535;
  prop.maxGridSize[2] = 65535;
  prop.totalConstMem = 64 * 1024;
  prop.major = 9;
  prop.minor = 0;
  prop.textureAlignment = 512;
  prop.texturePitchAlignment = 32;
  prop.multiProcessorCount = 4;
  prop.maxThreadsPerMultiProcessor = 2048;
  prop.maxBlocksPerMultiProcessor = 32;
  prop.l2CacheSize = 50 * 1024 * 1024;
  prop.memoryBusWidth = 5120;
  prop.concurrentKernels = 1;
  prop.asyncEngineCount = 2;
  prop.unifiedAddressing = 1;
  prop.canMapHostMemory = 1;
  prop.streamPrioritiesSupported = 1;
  prop.globalL1CacheSupported = 1;
  prop.localL1CacheSupported = 1;
  prop.managedMemory = 0;
  prop.cooperativeLaunch = 1;
  prop.clusterLaunch = 1;
  return prop;
}

cudaError_t Copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) {
    return Fail(cudaErrorInvalidMemcpyDirection);
  }
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return Fail(cudaErrorInvalidValue);
  {
    State& state = GetState();
    std::lock_guard<std::mutex> lock(state.mu);
    const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((dst_device && !IsDeviceRangeLocked(state, dst, count)) ||
        (src_device && !IsDeviceRangeLocked(state, src, count))) {
      return Fail(cudaErrorInvalidValue);
    }
  }
  // memcpy, not memmove: CUDA leaves overlapping copies undefined, and ASan reports them.
  std::memcpy(dst, src, count);
  return cudaSuccess;
}

cudaError_t Set(void* dev_ptr, int value, size_t count) {
  if (count == 0) return cudaSuccess;
  if (!IsDeviceRange(dev_ptr, count)) return Fail(cudaErrorInvalidValue);
  std::memset(dev_ptr, static_cast<unsigned char>(value), count);
  return cudaSuccess;
}

}  // namespace

void SetLastError(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
}

cudaError_t TakeLastError() {
  const cudaError_t error = last_error;
  last_error = cudaSuccess;
  return error;
}

cudaError_t PeekLastError() { return last_error; }

bool IsDeviceRange(const void* ptr, size_t bytes) {
  if (ptr == nullptr) return false;
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  return IsDeviceRangeLocked(state, ptr, bytes);
}

bool IsValidStream(cudaStream_t stream) {
  if (IsSpecialStream(stream)) return true;
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  return state.streams.contains(stream);
}

std::optional<size_t> ParseDeviceMemory(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  size_t value = 0;
  int digits = 0;
  for (const char* c = text; *c != '\0'; ++c, ++digits) {
    if (*c < '0' || *c > '9' || digits == 20) return std::nullopt;
    const size_t digit = static_cast<size_t>(*c - '0');
    if (value > (SIZE_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

size_t DeviceMemoryLimit() {
  const char* text = std::getenv("EGMLA_EMU_DEVICE_MEMORY");
  if (text == nullptr) return kDefaultDeviceMemory;
  const std::optional<size_t> bytes = ParseDeviceMemory(text);
  if (!bytes.has_value()) {
    std::fprintf(stderr,
                 "egmla CUDA emulator: EGMLA_EMU_DEVICE_MEMORY=\"%s\" is not a byte count "
                 "(decimal digits only)\n",
                 text);
    std::abort();
  }
  return *bytes;
}

bool NoDevice() {
  const char* text = std::getenv("EGMLA_EMU_NO_DEVICE");
  return text != nullptr && std::strcmp(text, "1") == 0;
}

size_t DeviceMemoryInUse() {
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  return state.in_use;
}

namespace {

bool IsValidEvent(cudaEvent_t event) {
  State& state = GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  return event != nullptr && state.events.contains(event);
}

}  // namespace
}  // namespace egmla::cuda::emu

namespace emu = ::egmla::cuda::emu;

// With EGMLA_EMU_NO_DEVICE=1 the runtime answers as on a machine without a GPU: cudaErrorNoDevice.
#define EGMLA_EMU_REQUIRE_DEVICE()                            \
  do {                                                        \
    if (emu::NoDevice()) return emu::Fail(cudaErrorNoDevice); \
  } while (0)

extern "C" {

// --- Errors and versions -------------------------------------------------------------------

cudaError_t CUDARTAPI cudaGetLastError(void) {
  const cudaError_t error = emu::TakeLastError();
  return error;
}

cudaError_t CUDARTAPI cudaPeekAtLastError(void) { return emu::last_error; }

// As the real runtime: a value outside the enum reads "unrecognized error code" from both.
const char* CUDARTAPI cudaGetErrorName(cudaError_t error) {
  const char* name = emu::ErrorName(error);
  return name != nullptr ? name : "unrecognized error code";
}

const char* CUDARTAPI cudaGetErrorString(cudaError_t error) {
  const char* text = emu::ErrorString(error);
  return text != nullptr ? text : "unrecognized error code";
}

cudaError_t CUDARTAPI cudaDriverGetVersion(int* driverVersion) {
  if (driverVersion == nullptr) return emu::Fail(cudaErrorInvalidValue);
  *driverVersion = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaRuntimeGetVersion(int* runtimeVersion) {
  if (runtimeVersion == nullptr) return emu::Fail(cudaErrorInvalidValue);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}

// --- Devices -------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaGetDeviceCount(int* count) {
  if (count == nullptr) return emu::Fail(cudaErrorInvalidValue);
  *count = 0;
  EGMLA_EMU_REQUIRE_DEVICE();
  *count = 1;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaSetDevice(int device) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (const cudaError_t e = emu::CheckDevice(device); e != cudaSuccess) return emu::Fail(e);
  emu::current_device = device;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDevice(int* device) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (device == nullptr) return emu::Fail(cudaErrorInvalidValue);
  *device = emu::current_device;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (prop == nullptr) return emu::Fail(cudaErrorInvalidValue);
  if (const cudaError_t e = emu::CheckDevice(device); e != cudaSuccess) return emu::Fail(e);
  *prop = emu::MakeDeviceProp();
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (value == nullptr) return emu::Fail(cudaErrorInvalidValue);
  if (const cudaError_t e = emu::CheckDevice(device); e != cudaSuccess) return emu::Fail(e);
  const cudaDeviceProp p = emu::MakeDeviceProp();
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = p.maxThreadsPerBlock;
      break;
    case cudaDevAttrMaxBlockDimX:
      *value = p.maxThreadsDim[0];
      break;
    case cudaDevAttrMaxBlockDimY:
      *value = p.maxThreadsDim[1];
      break;
    case cudaDevAttrMaxBlockDimZ:
      *value = p.maxThreadsDim[2];
      break;
    case cudaDevAttrMaxGridDimX:
      *value = p.maxGridSize[0];
      break;
    case cudaDevAttrMaxGridDimY:
      *value = p.maxGridSize[1];
      break;
    case cudaDevAttrMaxGridDimZ:
      *value = p.maxGridSize[2];
      break;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = static_cast<int>(p.sharedMemPerBlock);
      break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = static_cast<int>(p.sharedMemPerBlockOptin);
      break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
      *value = static_cast<int>(p.sharedMemPerMultiprocessor);
      break;
    case cudaDevAttrReservedSharedMemoryPerBlock:
      *value = static_cast<int>(p.reservedSharedMemPerBlock);
      break;
    case cudaDevAttrWarpSize:
      *value = p.warpSize;
      break;
    case cudaDevAttrMultiProcessorCount:
      *value = p.multiProcessorCount;
      break;
    case cudaDevAttrComputeCapabilityMajor:
      *value = p.major;
      break;
    case cudaDevAttrComputeCapabilityMinor:
      *value = p.minor;
      break;
    case cudaDevAttrL2CacheSize:
      *value = p.l2CacheSize;
      break;
    case cudaDevAttrMaxThreadsPerMultiProcessor:
      *value = p.maxThreadsPerMultiProcessor;
      break;
    case cudaDevAttrMaxBlocksPerMultiprocessor:
      *value = p.maxBlocksPerMultiProcessor;
      break;
    case cudaDevAttrMaxRegistersPerBlock:
      *value = p.regsPerBlock;
      break;
    case cudaDevAttrTotalConstantMemory:
      *value = static_cast<int>(p.totalConstMem);
      break;
    case cudaDevAttrUnifiedAddressing:
      *value = p.unifiedAddressing;
      break;
    case cudaDevAttrConcurrentKernels:
      *value = p.concurrentKernels;
      break;
    case cudaDevAttrCooperativeLaunch:
      *value = p.cooperativeLaunch;
      break;
    default:
      return emu::Fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceSynchronize(void) {
  EGMLA_EMU_REQUIRE_DEVICE();
  return cudaSuccess;
}

// --- Memory --------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaMalloc(void** devPtr, size_t size) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (devPtr == nullptr) return emu::Fail(cudaErrorInvalidValue);
  *devPtr = nullptr;
  if (size == 0) return cudaSuccess;  // as the real runtime: success, a null pointer
  const size_t limit = emu::DeviceMemoryLimit();
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.in_use > limit || size > limit - state.in_use) {
    return emu::Fail(cudaErrorMemoryAllocation);
  }
  void* data = nullptr;
  if (posix_memalign(&data, emu::kAllocationAlignment, size) != 0 || data == nullptr) {
    return emu::Fail(cudaErrorMemoryAllocation);
  }
  std::memset(data, emu::kFreshMemoryByte, size);
  state.allocations.emplace(reinterpret_cast<uintptr_t>(data), size);
  state.in_use += size;
  *devPtr = data;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFree(void* devPtr) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (devPtr == nullptr) return cudaSuccess;
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  const auto it = state.allocations.find(reinterpret_cast<uintptr_t>(devPtr));
  if (it == state.allocations.end()) return emu::Fail(cudaErrorInvalidValue);
  state.in_use -= it->second;
  state.allocations.erase(it);
  std::free(devPtr);
  return cudaSuccess;
}

// Page-locked host memory: ordinary host memory here (copies are synchronous anyway).
cudaError_t CUDARTAPI cudaMallocHost(void** ptr, size_t size) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (ptr == nullptr) return emu::Fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  if (posix_memalign(ptr, emu::kAllocationAlignment, size) != 0 || *ptr == nullptr) {
    *ptr = nullptr;
    return emu::Fail(cudaErrorMemoryAllocation);
  }
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  EGMLA_EMU_REQUIRE_DEVICE();
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemGetInfo(size_t* free, size_t* total) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (free == nullptr || total == nullptr) return emu::Fail(cudaErrorInvalidValue);
  const size_t limit = emu::DeviceMemoryLimit();
  const size_t in_use = emu::DeviceMemoryInUse();
  *total = limit;
  *free = in_use < limit ? limit - in_use : 0;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  EGMLA_EMU_REQUIRE_DEVICE();
  return emu::Copy(dst, src, count, kind);
}

cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                      cudaStream_t stream) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidStream(stream)) return emu::Fail(cudaErrorInvalidResourceHandle);
  return emu::Copy(dst, src, count, kind);  // synchronous: done on return
}

cudaError_t CUDARTAPI cudaMemset(void* devPtr, int value, size_t count) {
  EGMLA_EMU_REQUIRE_DEVICE();
  return emu::Set(devPtr, value, count);
}

cudaError_t CUDARTAPI cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t stream) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidStream(stream)) return emu::Fail(cudaErrorInvalidResourceHandle);
  return emu::Set(devPtr, value, count);  // synchronous: done on return
}

// --- Streams -------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (pStream == nullptr || (flags & ~static_cast<unsigned int>(cudaStreamNonBlocking)) != 0) {
    return emu::Fail(cudaErrorInvalidValue);
  }
  auto* stream = new CUstream_st{flags};
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  state.streams.insert(stream);
  *pStream = stream;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamCreate(cudaStream_t* pStream) {
  return cudaStreamCreateWithFlags(pStream, cudaStreamDefault);
}

cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream) {
  EGMLA_EMU_REQUIRE_DEVICE();
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  // The default streams cannot be destroyed; neither can one that was already.
  if (state.streams.erase(stream) == 0) return emu::Fail(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidStream(stream)) return emu::Fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;  // every stream is synchronous: nothing is ever pending
}

cudaError_t CUDARTAPI cudaStreamQuery(cudaStream_t stream) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidStream(stream)) return emu::Fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

// --- Events --------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  EGMLA_EMU_REQUIRE_DEVICE();
  constexpr unsigned int kKnown = cudaEventBlockingSync | cudaEventDisableTiming;
  if (event == nullptr || (flags & ~kKnown) != 0) return emu::Fail(cudaErrorInvalidValue);
  auto* created = new CUevent_st;
  created->flags = flags;
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  state.events.insert(created);
  *event = created;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event) {
  EGMLA_EMU_REQUIRE_DEVICE();
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  if (event == nullptr || state.events.erase(event) == 0) {
    return emu::Fail(cudaErrorInvalidResourceHandle);
  }
  delete event;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidEvent(event) || !emu::IsValidStream(stream)) {
    return emu::Fail(cudaErrorInvalidResourceHandle);
  }
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  event->time = std::chrono::steady_clock::now();  // the stream's work is already done
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventQuery(cudaEvent_t event) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidEvent(event)) return emu::Fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidEvent(event)) return emu::Fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (ms == nullptr) return emu::Fail(cudaErrorInvalidValue);
  if (!emu::IsValidEvent(start) || !emu::IsValidEvent(end))
    return emu::Fail(cudaErrorInvalidResourceHandle);
  emu::State& state = emu::GetState();
  std::lock_guard<std::mutex> lock(state.mu);
  // As the real runtime: events without timing, or never recorded, have no time to compare.
  if (((start->flags | end->flags) & cudaEventDisableTiming) != 0 || !start->recorded ||
      !end->recorded) {
    return emu::Fail(cudaErrorInvalidResourceHandle);
  }
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event,
                                          unsigned int flags) {
  EGMLA_EMU_REQUIRE_DEVICE();
  if (!emu::IsValidStream(stream) || !emu::IsValidEvent(event)) {
    return emu::Fail(cudaErrorInvalidResourceHandle);
  }
  if (flags != 0 && flags != cudaEventWaitExternal) return emu::Fail(cudaErrorInvalidValue);
  return cudaSuccess;  // the event's work is already done
}

}  // extern "C"
