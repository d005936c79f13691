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

// Every cudaError_t with the runtime's description of it (from driver_types.h).
#define EGMLA_EMU_CUDA_ERRORS(X)                                                                   \
  X(cudaSuccess, "no error")                                                                       \
  X(cudaErrorInvalidValue, "invalid argument")                                                     \
  X(cudaErrorMemoryAllocation, "out of memory")                                                    \
  X(cudaErrorInitializationError, "initialization error")                                          \
  X(cudaErrorCudartUnloading, "driver shutting down")                                              \
  X(cudaErrorProfilerDisabled, "this indicates profiler is not initialized for this run")          \
  X(cudaErrorProfilerNotInitialized,                                                               \
    "this error return is deprecated as of CUDA 5.0. It is no longer an error to attempt to "      \
    "enable/disable the profiling via cudaProfilerStart or cudaProfilerStop without "              \
    "initialization")                                                                              \
  X(cudaErrorProfilerAlreadyStarted,                                                               \
    "this error return is deprecated as of CUDA 5.0. It is no longer an error to call "            \
    "cudaProfilerStart() when profiling is already enabled")                                       \
  X(cudaErrorProfilerAlreadyStopped,                                                               \
    "this error return is deprecated as of CUDA 5.0. It is no longer an error to call "            \
    "cudaProfilerStop() when profiling is already disabled")                                       \
  X(cudaErrorInvalidConfiguration, "invalid configuration argument")                               \
  X(cudaErrorInvalidPitchValue, "invalid pitch argument")                                          \
  X(cudaErrorInvalidSymbol, "invalid device symbol")                                               \
  X(cudaErrorInvalidHostPointer,                                                                   \
    "this indicates that at least one host pointer passed to the API call is not a valid host "    \
    "pointer")                                                                                     \
  X(cudaErrorInvalidDevicePointer, "invalid device pointer")                                       \
  X(cudaErrorInvalidTexture,                                                                       \
    "this indicates that the texture passed to the API call is not a valid texture")               \
  X(cudaErrorInvalidTextureBinding, "this indicates that the texture binding is not valid")        \
  X(cudaErrorInvalidChannelDescriptor,                                                             \
    "this indicates that the channel descriptor passed to the API call is not valid")              \
  X(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy")                          \
  X(cudaErrorAddressOfConstant,                                                                    \
    "this indicated that the user has taken the address of a constant variable, which was "        \
    "forbidden up until the CUDA 3.1 release")                                                     \
  X(cudaErrorTextureFetchFailed,                                                                   \
    "this indicated that a texture fetch was not able to be performed")                            \
  X(cudaErrorTextureNotBound, "this indicated that a texture was not bound for access")            \
  X(cudaErrorSynchronizationError, "this indicated that a synchronization operation had failed")   \
  X(cudaErrorInvalidFilterSetting,                                                                 \
    "this indicates that a non-float texture was being accessed with linear filtering")            \
  X(cudaErrorInvalidNormSetting,                                                                   \
    "this indicates that an attempt was made to read an unsupported data type as a normalized "    \
    "float")                                                                                       \
  X(cudaErrorMixedDeviceExecution, "mixing of device and device emulation code was not allowed")   \
  X(cudaErrorNotYetImplemented, "this indicates that the API call is not yet implemented")         \
  X(cudaErrorMemoryValueTooLarge,                                                                  \
    "this indicated that an emulated device pointer exceeded the 32-bit address range")            \
  X(cudaErrorStubLibrary,                                                                          \
    "this indicates that the CUDA driver that the application has loaded is a stub library")       \
  X(cudaErrorInsufficientDriver, "CUDA driver version is insufficient for CUDA runtime version")   \
  X(cudaErrorCallRequiresNewerDriver,                                                              \
    "this indicates that the API call requires a newer CUDA driver than the one currently "        \
    "installed")                                                                                   \
  X(cudaErrorInvalidSurface,                                                                       \
    "this indicates that the surface passed to the API call is not a valid surface")               \
  X(cudaErrorDuplicateVariableName,                                                                \
    "this indicates that multiple global or constant variables (across separate CUDA source "      \
    "files in the application) share the same string name")                                        \
  X(cudaErrorDuplicateTextureName,                                                                 \
    "this indicates that multiple textures (across separate CUDA source files in the "             \
    "application) share the same string name")                                                     \
  X(cudaErrorDuplicateSurfaceName,                                                                 \
    "this indicates that multiple surfaces (across separate CUDA source files in the "             \
    "application) share the same string name")                                                     \
  X(cudaErrorDevicesUnavailable, "CUDA-capable device(s) is/are busy or unavailable")              \
  X(cudaErrorIncompatibleDriverContext,                                                            \
    "this indicates that the current context is not compatible with this the CUDA Runtime")        \
  X(cudaErrorMissingConfiguration,                                                                 \
    "the device function being invoked (usually via cudaLaunchKernel()) was not previously "       \
    "configured via the cudaConfigureCall() function")                                             \
  X(cudaErrorPriorLaunchFailure, "this indicated that a previous kernel launch failed")            \
  X(cudaErrorLaunchMaxDepthExceeded,                                                               \
    "this error indicates that a device runtime grid launch did not occur because the depth of "   \
    "the child grid would exceed the maximum supported number of nested grid launches")            \
  X(cudaErrorLaunchFileScopedTex,                                                                  \
    "this error indicates that a grid launch did not occur because the kernel uses file-scoped "   \
    "textures which are unsupported by the device runtime")                                        \
  X(cudaErrorLaunchFileScopedSurf,                                                                 \
    "this error indicates that a grid launch did not occur because the kernel uses file-scoped "   \
    "surfaces which are unsupported by the device runtime")                                        \
  X(cudaErrorSyncDepthExceeded,                                                                    \
    "this error indicates that a call to cudaDeviceSynchronize made from the device runtime "      \
    "failed because the call was made at grid depth greater than than either the default (2 "      \
    "levels of grids) or user specified device limit cudaLimitDevRuntimeSyncDepth")                \
  X(cudaErrorLaunchPendingCountExceeded,                                                           \
    "this error indicates that a device runtime grid launch failed because the launch would "      \
    "exceed the limit cudaLimitDevRuntimePendingLaunchCount")                                      \
  X(cudaErrorInvalidDeviceFunction, "invalid device function")                                     \
  X(cudaErrorNoDevice, "no CUDA-capable device is detected")                                       \
  X(cudaErrorInvalidDevice, "invalid device ordinal")                                              \
  X(cudaErrorDeviceNotLicensed,                                                                    \
    "this indicates that the device doesn't have a valid Grid License")                            \
  X(cudaErrorSoftwareValidityNotEstablished,                                                       \
    "by default, the CUDA runtime may perform a minimal set of self-tests, as well as CUDA "       \
    "driver tests, to establish the validity of both")                                             \
  X(cudaErrorStartupFailure, "this indicates an internal startup failure in the CUDA runtime")     \
  X(cudaErrorInvalidKernelImage, "device kernel image is invalid")                                 \
  X(cudaErrorDeviceUninitialized,                                                                  \
    "this most frequently indicates that there is no context bound to the current thread")         \
  X(cudaErrorMapBufferObjectFailed, "this indicates that the buffer object could not be mapped")   \
  X(cudaErrorUnmapBufferObjectFailed,                                                              \
    "this indicates that the buffer object could not be unmapped")                                 \
  X(cudaErrorArrayIsMapped,                                                                        \
    "this indicates that the specified array is currently mapped and thus cannot be destroyed")    \
  X(cudaErrorAlreadyMapped, "this indicates that the resource is already mapped")                  \
  X(cudaErrorNoKernelImageForDevice, "no kernel image is available for execution on the device")   \
  X(cudaErrorAlreadyAcquired, "this indicates that a resource has already been acquired")          \
  X(cudaErrorNotMapped, "this indicates that a resource is not mapped")                            \
  X(cudaErrorNotMappedAsArray,                                                                     \
    "this indicates that a mapped resource is not available for access as an array")               \
  X(cudaErrorNotMappedAsPointer,                                                                   \
    "this indicates that a mapped resource is not available for access as a pointer")              \
  X(cudaErrorECCUncorrectable,                                                                     \
    "this indicates that an uncorrectable ECC error was detected during execution")                \
  X(cudaErrorUnsupportedLimit,                                                                     \
    "this indicates that the cudaLimit passed to the API call is not supported by the active "     \
    "device")                                                                                      \
  X(cudaErrorDeviceAlreadyInUse,                                                                   \
    "this indicates that a call tried to access an exclusive-thread device that is already in "    \
    "use by a different thread")                                                                   \
  X(cudaErrorPeerAccessUnsupported,                                                                \
    "this error indicates that P2P access is not supported across the given devices")              \
  X(cudaErrorInvalidPtx, "A PTX compilation failed")                                               \
  X(cudaErrorInvalidGraphicsContext, "this indicates an error with the OpenGL or DirectX context") \
  X(cudaErrorNvlinkUncorrectable,                                                                  \
    "this indicates that an uncorrectable NVLink error was detected during the execution")         \
  X(cudaErrorJitCompilerNotFound,                                                                  \
    "this indicates that the PTX JIT compiler library was not found")                              \
  X(cudaErrorUnsupportedPtxVersion,                                                                \
    "this indicates that the provided PTX was compiled with an unsupported toolchain")             \
  X(cudaErrorJitCompilationDisabled, "this indicates that the JIT compilation was disabled")       \
  X(cudaErrorUnsupportedExecAffinity,                                                              \
    "this indicates that the provided execution affinity is not supported by the device")          \
  X(cudaErrorUnsupportedDevSideSync,                                                               \
    "this indicates that the code to be compiled by the PTX JIT contains unsupported call to "     \
    "cudaDeviceSynchronize")                                                                       \
  X(cudaErrorContained,                                                                            \
    "this indicates that an exception occurred on the device that is now contained by the GPU's "  \
    "error containment capability")                                                                \
  X(cudaErrorInvalidSource, "device kernel image is invalid")                                      \
  X(cudaErrorFileNotFound, "this indicates that the file specified was not found")                 \
  X(cudaErrorSharedObjectSymbolNotFound,                                                           \
    "this indicates that a link to a shared object failed to resolve")                             \
  X(cudaErrorSharedObjectInitFailed, "shared object initialization failed")                        \
  X(cudaErrorOperatingSystem, "this error indicates that an OS call failed")                       \
  X(cudaErrorInvalidResourceHandle, "invalid resource handle")                                     \
  X(cudaErrorIllegalState,                                                                         \
    "this indicates that a resource required by the API call is not in a valid state to perform "  \
    "the requested operation")                                                                     \
  X(cudaErrorLossyQuery,                                                                           \
    "this indicates an attempt was made to introspect an object in a way that would discard "      \
    "semantically important information")                                                          \
  X(cudaErrorSymbolNotFound, "this indicates that a named symbol was not found")                   \
  X(cudaErrorNotReady, "device not ready")                                                         \
  X(cudaErrorIllegalAddress, "an illegal memory access was encountered")                           \
  X(cudaErrorLaunchOutOfResources, "too many resources requested for launch")                      \
  X(cudaErrorLaunchTimeout, "the launch timed out and was terminated")                             \
  X(cudaErrorLaunchIncompatibleTexturing,                                                          \
    "this error indicates a kernel launch that uses an incompatible texturing mode")               \
  X(cudaErrorPeerAccessAlreadyEnabled,                                                             \
    "this error indicates that a call to cudaDeviceEnablePeerAccess() is trying to re-enable "     \
    "peer addressing on from a context which has already had peer addressing enabled")             \
  X(cudaErrorPeerAccessNotEnabled,                                                                 \
    "this error indicates that cudaDeviceDisablePeerAccess() is trying to disable peer "           \
    "addressing which has not been enabled yet via cudaDeviceEnablePeerAccess()")                  \
  X(cudaErrorSetOnActiveProcess,                                                                   \
    "this indicates that the user has called cudaSetValidDevices(), cudaSetDeviceFlags(), "        \
    "cudaD3D9SetDirect3DDevice(), cudaD3D10SetDirect3DDevice, cudaD3D11SetDirect3DDevice(), or "   \
    "cudaVDPAUSetVDPAUDevice() after initializing the CUDA runtime by calling non-device "         \
    "management operations (allocating memory and launching kernels are examples of non-device "   \
    "management operations)")                                                                      \
  X(cudaErrorContextIsDestroyed, "context is destroyed")                                           \
  X(cudaErrorAssert, "device-side assert triggered")                                               \
  X(cudaErrorTooManyPeers,                                                                         \
    "this error indicates that the hardware resources required to enable peer access have been "   \
    "exhausted for one or more of the devices passed to cudaEnablePeerAccess()")                   \
  X(cudaErrorHostMemoryAlreadyRegistered,                                                          \
    "this error indicates that the memory range passed to cudaHostRegister() has already been "    \
    "registered")                                                                                  \
  X(cudaErrorHostMemoryNotRegistered,                                                              \
    "this error indicates that the pointer passed to cudaHostUnregister() does not correspond to " \
    "any currently registered memory region")                                                      \
  X(cudaErrorHardwareStackError, "hardware stack error")                                           \
  X(cudaErrorIllegalInstruction, "an illegal instruction was encountered")                         \
  X(cudaErrorMisalignedAddress, "misaligned address")                                              \
  X(cudaErrorInvalidAddressSpace, "operation not supported on global/shared address space")        \
  X(cudaErrorInvalidPc, "invalid program counter")                                                 \
  X(cudaErrorLaunchFailure, "unspecified launch failure")                                          \
  X(cudaErrorCooperativeLaunchTooLarge,                                                            \
    "this error indicates that the number of blocks launched per grid for a kernel that was "      \
    "launched via either cudaLaunchCooperativeKernel exceeds the maximum number of blocks as "     \
    "allowed by cudaOccupancyMaxActiveBlocksPerMultiprocessor or "                                 \
    "cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags times the number of multiprocessors "  \
    "as specified by the device attribute cudaDevAttrMultiProcessorCount")                         \
  X(cudaErrorTensorMemoryLeak,                                                                     \
    "an exception occurred on the device while exiting a kernel using tensor memory: the tensor "  \
    "memory was not completely deallocated")                                                       \
  X(cudaErrorNotPermitted, "operation not permitted")                                              \
  X(cudaErrorNotSupported, "operation not supported")                                              \
  X(cudaErrorSystemNotReady,                                                                       \
    "this error indicates that the system is not yet ready to start any CUDA work")                \
  X(cudaErrorSystemDriverMismatch,                                                                 \
    "this error indicates that there is a mismatch between the versions of the display driver "    \
    "and the CUDA driver")                                                                         \
  X(cudaErrorCompatNotSupportedOnDevice,                                                           \
    "this error indicates that the system was upgraded to run with forward compatibility but the " \
    "visible hardware detected by CUDA does not support this configuration")                       \
  X(cudaErrorMpsConnectionFailed,                                                                  \
    "this error indicates that the MPS client failed to connect to the MPS control daemon or the " \
    "MPS server")                                                                                  \
  X(cudaErrorMpsRpcFailure,                                                                        \
    "this error indicates that the remote procedural call between the MPS server and the MPS "     \
    "client failed")                                                                               \
  X(cudaErrorMpsServerNotReady,                                                                    \
    "this error indicates that the MPS server is not ready to accept new MPS client requests")     \
  X(cudaErrorMpsMaxClientsReached,                                                                 \
    "this error indicates that the hardware resources required to create MPS client have been "    \
    "exhausted")                                                                                   \
  X(cudaErrorMpsMaxConnectionsReached,                                                             \
    "this error indicates the the hardware resources required to device connections have been "    \
    "exhausted")                                                                                   \
  X(cudaErrorMpsClientTerminated,                                                                  \
    "this error indicates that the MPS client has been terminated by the server")                  \
  X(cudaErrorCdpNotSupported,                                                                      \
    "this error indicates, that the program is using CUDA Dynamic Parallelism, but the current "   \
    "configuration, like MPS, does not support it")                                                \
  X(cudaErrorCdpVersionMismatch,                                                                   \
    "this error indicates, that the program contains an unsupported interaction between "          \
    "different versions of CUDA Dynamic Parallelism")                                              \
  X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing")         \
  X(cudaErrorStreamCaptureInvalidated,                                                             \
    "the current capture sequence on the stream has been invalidated due to a previous error")     \
  X(cudaErrorStreamCaptureMerge,                                                                   \
    "the operation would have resulted in a merge of two independent capture sequences")           \
  X(cudaErrorStreamCaptureUnmatched, "the capture was not initiated in this stream")               \
  X(cudaErrorStreamCaptureUnjoined,                                                                \
    "the capture sequence contains a fork that was not joined to the primary stream")              \
  X(cudaErrorStreamCaptureIsolation,                                                               \
    "a dependency would have been created which crosses the capture sequence boundary")            \
  X(cudaErrorStreamCaptureImplicit,                                                                \
    "the operation would have resulted in a disallowed implicit dependency on a current capture "  \
    "sequence from cudaStreamLegacy")                                                              \
  X(cudaErrorCapturedEvent,                                                                        \
    "the operation is not permitted on an event which was last recorded in a capturing stream")    \
  X(cudaErrorStreamCaptureWrongThread,                                                             \
    "a stream capture sequence not initiated with the cudaStreamCaptureModeRelaxed argument to "   \
    "cudaStreamBeginCapture was passed to cudaStreamEndCapture in a different thread")             \
  X(cudaErrorTimeout, "this indicates that the wait operation has timed out")                      \
  X(cudaErrorGraphExecUpdateFailure,                                                               \
    "this error indicates that the graph update was not performed because it included changes "    \
    "which violated constraints specific to instantiated graph update")                            \
  X(cudaErrorExternalDevice,                                                                       \
    "this indicates that an async error has occurred in a device outside of CUDA. If CUDA was "    \
    "waiting for an external device's signal before consuming shared data, the external device "   \
    "signaled an error indicating that the data is not valid for consumption")                     \
  X(cudaErrorInvalidClusterSize,                                                                   \
    "this indicates that a kernel launch error has occurred due to cluster misconfiguration")      \
  X(cudaErrorFunctionNotLoaded,                                                                    \
    "indiciates a function handle is not loaded when calling an API that requires a loaded "       \
    "function")                                                                                    \
  X(cudaErrorInvalidResourceType,                                                                  \
    "this error indicates one or more resources passed in are not valid resource types for the "   \
    "operation")                                                                                   \
  X(cudaErrorInvalidResourceConfiguration,                                                         \
    "this error indicates one or more resources are insufficient or non-applicable for the "       \
    "operation")                                                                                   \
  X(cudaErrorUnknown, "unknown error")

const char* ErrorName(cudaError_t error) {
  switch (error) {
#define X(name, description) \
  case name:                 \
    return #name;
    EGMLA_EMU_CUDA_ERRORS(X)
#undef X
    default:  // cudaErrorApiFailureBase (a marker, not an error) and values outside the enum
      break;
  }
  return nullptr;
}

const char* ErrorString(cudaError_t error) {
  switch (error) {
#define X(name, description) \
  case name:                 \
    return description;
    EGMLA_EMU_CUDA_ERRORS(X)
#undef X
    default:
      break;
  }
  return nullptr;
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
