// ctest label `gpu`: the device abstraction. Tests that need a GPU skip, with the runtime's
// reason, where none is present; the error-path tests for machines without one run there instead.
#include "kernels/cuda/runtime/device.h"

#include <cstdint>
#include <iostream>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cuda/gpu_test_util.h"
#include "kernels/cuda/runtime/blas_handle.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "kernels/cuda/runtime/stream.h"

namespace egmla::cuda {
namespace {

using ::egmla::cuda::gpu_test::GpuTest;
using ::testing::HasSubstr;

// Skips where a GPU is present: these tests check what a machine without one reports.
#define SKIP_WITH_GPU()                                      \
  do {                                                       \
    if (CountDevices().count > 0)                            \
      GTEST_SKIP() << "a CUDA device is present; this test " \
                      "checks the errors without one";       \
  } while (0)

TEST(CudaDeviceTest, CountDevicesGivesAReasonExactlyWhenThereAreNone) {
  const DeviceCount devices = CountDevices();
  EXPECT_GE(devices.count, 0);
  EXPECT_EQ(devices.count == 0, !devices.reason.empty()) << devices.reason;
}

TEST(CudaDeviceTest, WithoutADeviceQueryFailsNamingTheCall) {
  SKIP_WITH_GPU();
  const absl::StatusOr<DeviceInfo> info = QueryDevice(0);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable) << info.status();
  EXPECT_THAT(info.status().message(), HasSubstr("kernels/cuda/runtime/device.cc:"));
  EXPECT_THAT(info.status().message(),
              HasSubstr("cudaGetDeviceProperties(&prop, ordinal) failed: cudaError"));
}

TEST(CudaDeviceTest, WithoutADeviceAllocationFailsNamingTheCall) {
  SKIP_WITH_GPU();
  const absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(256);
  ASSERT_FALSE(buffer.ok());
  EXPECT_THAT(buffer.status().message(), HasSubstr("kernels/cuda/runtime/device_buffer.cc:"));
  EXPECT_THAT(buffer.status().message(), HasSubstr("cudaMalloc("));
}

TEST(CudaDeviceTest, WithoutADeviceStreamAndBlasHandleFailNamingTheCall) {
  SKIP_WITH_GPU();
  const absl::StatusOr<Stream> stream = Stream::Create();
  ASSERT_FALSE(stream.ok());
  EXPECT_THAT(stream.status().message(), HasSubstr("kernels/cuda/runtime/stream.cc:"));
  EXPECT_THAT(stream.status().message(), HasSubstr("cudaStreamCreateWithFlags("));
  const absl::StatusOr<BlasHandle> blas = BlasHandle::Create();
  ASSERT_FALSE(blas.ok());
  EXPECT_THAT(blas.status().message(), HasSubstr("kernels/cuda/runtime/blas_handle.cc:"));
  EXPECT_THAT(blas.status().message(), HasSubstr("cublasCreate(&handle) failed: CUBLAS_STATUS_"));
}

TEST(CudaDeviceTest, ZeroBytesAllocateNothing) {
  // No CUDA call is made, so this holds with or without a device.
  absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(0);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  EXPECT_EQ(buffer->data(), nullptr);
  EXPECT_EQ(buffer->size_bytes(), 0);
  EXPECT_EQ(DeviceBuffer::Allocate(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

class CudaDeviceGpuTest : public GpuTest {};

TEST_F(CudaDeviceGpuTest, QueriesEveryDevice) {
  const int count = CountDevices().count;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    const absl::StatusOr<DeviceInfo> info = QueryDevice(ordinal);
    ASSERT_TRUE(info.ok()) << info.status();
    std::cout << "device " << ordinal << ": " << DescribeDevice(*info) << "\n";
    EXPECT_EQ(info->ordinal, ordinal);
    EXPECT_FALSE(info->name.empty());
    EXPECT_GE(info->compute_capability_major, 7);
    EXPECT_GT(info->num_sms, 0);
    EXPECT_GT(info->total_memory_bytes, 0);
    EXPECT_GT(info->free_memory_bytes, 0);
    EXPECT_LE(info->free_memory_bytes, info->total_memory_bytes);
    EXPECT_GT(info->l2_cache_bytes, 0);
    EXPECT_GE(info->max_shared_memory_per_block, 48 * 1024);
  }
  ASSERT_TRUE(SetDevice(0).ok());
}

TEST_F(CudaDeviceGpuTest, OrdinalOutOfRangeFailsNamingTheCall) {
  const absl::StatusOr<DeviceInfo> info = QueryDevice(CountDevices().count);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument) << info.status();
  EXPECT_THAT(info.status().message(), HasSubstr("kernels/cuda/runtime/device.cc:"));
  EXPECT_THAT(info.status().message(),
              HasSubstr("cudaGetDeviceProperties(&prop, ordinal) failed: cudaErrorInvalidDevice"));
}

TEST_F(CudaDeviceGpuTest, BufferRoundTripsAndFills) {
  absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(1000);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  ASSERT_NE(buffer->data(), nullptr);
  std::vector<uint8_t> in(1000), out(1000, 0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7 + 3);
  ASSERT_TRUE(buffer->CopyFromHost(in.data(), 1000).ok());
  ASSERT_TRUE(buffer->CopyToHost(out.data(), 1000).ok());
  EXPECT_EQ(in, out);
  // A partial copy at an offset.
  ASSERT_TRUE(buffer->CopyToHost(out.data(), 10, 990).ok());
  EXPECT_EQ(out[0], in[990]);
  ASSERT_TRUE(buffer->Fill(0xab).ok());
  ASSERT_TRUE(buffer->CopyToHost(out.data(), 1000).ok());
  EXPECT_EQ(out, std::vector<uint8_t>(1000, 0xab));

  // Moves transfer ownership; the moved-from buffer is empty.
  DeviceBuffer moved = std::move(*buffer);
  EXPECT_EQ(buffer->data(), nullptr);
  EXPECT_EQ(moved.size_bytes(), 1000);
}

TEST_F(CudaDeviceGpuTest, CopiesOutsideTheBufferAreRefused) {
  absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(64);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  std::vector<uint8_t> host(128);
  EXPECT_EQ(buffer->CopyFromHost(host.data(), 65).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(buffer->CopyToHost(host.data(), 8, 60).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(buffer->CopyToHost(host.data(), -1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CudaDeviceGpuTest, OutOfMemoryIsResourceExhaustedNamingTheCall) {
  const absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(int64_t{1} << 50);  // 1 PiB
  ASSERT_FALSE(buffer.ok());
  EXPECT_EQ(buffer.status().code(), absl::StatusCode::kResourceExhausted) << buffer.status();
  EXPECT_THAT(buffer.status().message(), HasSubstr("kernels/cuda/runtime/device_buffer.cc:"));
  EXPECT_THAT(buffer.status().message(), HasSubstr("cudaMalloc("));
  EXPECT_THAT(buffer.status().message(), HasSubstr("cudaErrorMemoryAllocation"));
  // The failure was consumed: the next allocation and synchronisation succeed.
  EXPECT_TRUE(DeviceBuffer::Allocate(256).ok());
  EXPECT_TRUE(SynchronizeDevice().ok());
}

TEST_F(CudaDeviceGpuTest, StreamAndBlasHandleCreateAndMove) {
  absl::StatusOr<Stream> stream = Stream::Create();
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_NE(stream->handle(), nullptr);
  EXPECT_TRUE(stream->Synchronize().ok());
  Stream moved = std::move(*stream);
  EXPECT_EQ(stream->handle(), nullptr);
  EXPECT_TRUE(moved.Synchronize().ok());

  absl::StatusOr<BlasHandle> blas = BlasHandle::Create();
  ASSERT_TRUE(blas.ok()) << blas.status();
  EXPECT_NE(blas->get(), nullptr);
  BlasHandle moved_blas = std::move(*blas);
  EXPECT_EQ(blas->get(), nullptr);
  EXPECT_NE(moved_blas.get(), nullptr);
}

}  // namespace
}  // namespace egmla::cuda
