// ctest label `gpu`: skipped, with the runtime's reason, where no GPU or driver is present.
#include "kernels/cuda/device.h"

#include "gtest/gtest.h"

namespace egmla::cuda {
namespace {

TEST(CudaDeviceTest, FindsADeviceWhenOneIsPresent) {
  const DeviceCount devices = CountDevices();
  if (devices.count == 0) GTEST_SKIP() << "no CUDA device: " << devices.reason;
  EXPECT_GT(devices.count, 0);
}

}  // namespace
}  // namespace egmla::cuda
