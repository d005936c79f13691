#include "kernels/cuda/emu_runtime/error_names.h"

namespace egmla::cuda::emu {

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

}  // namespace egmla::cuda::emu
