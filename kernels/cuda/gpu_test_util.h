// The one skip rule of the `gpu` tests (DESIGN §8): without a usable CUDA device or driver a GPU
// test is skipped, not failed, and says why. For test code only (needs GoogleTest).
#ifndef EGMLA_KERNELS_CUDA_GPU_TEST_UTIL_H_
#define EGMLA_KERNELS_CUDA_GPU_TEST_UTIL_H_

#include <string>

#include "gtest/gtest.h"
#include "kernels/cuda/runtime/device.h"

namespace egmla::cuda::gpu_test {

// Empty when a CUDA device is usable; else why not, e.g. "no CUDA device:
// cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version".
inline std::string NoGpuReason() {
  const DeviceCount devices = CountDevices();
  return devices.count > 0 ? std::string() : "no CUDA device: " + devices.reason;
}

// The same test sources are built twice (issue 16): against the real CUDA runtime (label gpu)
// and against the SIMT emulator (EGMLA_EMULATED, labels unit;emu). A real-runtime build that
// finds the emulator's device has linked the stand-ins by mistake: that fails, not passes.
inline void ExpectRealDeviceUnlessEmulated() {
#ifndef EGMLA_EMULATED
  const absl::StatusOr<DeviceInfo> info = QueryDevice(0);
  if (info.ok() && info->name.find("emulator") != std::string::npos) {
    ADD_FAILURE() << "this gpu test binary runs on the SIMT emulator (" << info->name
                  << "): it must link the real CUDA runtime";
  }
#endif
}

}  // namespace egmla::cuda::gpu_test

// In a test body or SetUp(): skips the test, with the runtime's reason, when there is no GPU.
#define EGMLA_SKIP_WITHOUT_GPU()                                              \
  do {                                                                        \
    const std::string egmla_no_gpu_ = ::egmla::cuda::gpu_test::NoGpuReason(); \
    if (!egmla_no_gpu_.empty()) GTEST_SKIP() << egmla_no_gpu_;                \
    ::egmla::cuda::gpu_test::ExpectRealDeviceUnlessEmulated();                \
  } while (0)

namespace egmla::cuda::gpu_test {

// A fixture whose tests skip without a GPU: `class FooTest : public GpuTest {};`. Parameterised
// suites derive from GpuTestWithParam<T>.
template <typename Base>
class GpuFixture : public Base {
 protected:
  void SetUp() override { EGMLA_SKIP_WITHOUT_GPU(); }
};
using GpuTest = GpuFixture<::testing::Test>;
template <typename T>
using GpuTestWithParam = GpuFixture<::testing::TestWithParam<T>>;

}  // namespace egmla::cuda::gpu_test

#endif  // EGMLA_KERNELS_CUDA_GPU_TEST_UTIL_H_
