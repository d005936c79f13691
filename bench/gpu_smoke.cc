// gpu_smoke: the practical ceilings later kernels are judged against (DESIGN §6), measured on
// device 0 and printed beside the H100 SXM datasheet peaks:
//   - device-to-device copy bandwidth: cudaMemcpyAsync of a 1 GiB buffer, timed with CUDA events,
//     counting bytes read + written (2 × size per copy; the datasheet's HBM figure is the total
//     the bus moves, reads and writes together);
//   - cuBLAS bf16 GEMM (ops::cuda::LinearBf16, fp32 accumulation) at M = N = K = 8192 on random
//     data, 2·M·N·K FLOPs per product.
// A plain main, not Google Benchmark: CUDA events time the device, and one fixed report is wanted.
// Without a GPU it says why and exits 0. Flags: none. Output ends with a docs/perf.md table row.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dtype.h"
#include "common/status.h"
#include "kernels/cuda/ops_cuda.h"
#include "kernels/cuda/runtime/blas_handle.h"
#include "kernels/cuda/runtime/cuda_status.h"
#include "kernels/cuda/runtime/device.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "kernels/cuda/runtime/stream.h"

namespace egmla::cuda {
namespace {

// H100 SXM5 datasheet: HBM3 bandwidth and dense (no sparsity) bf16 tensor-core throughput.
constexpr double kPeakBandwidthGBs = 3350.0;
constexpr double kPeakBf16Tflops = 989.0;

constexpr int64_t kCopyBytes = int64_t{1} << 30;
constexpr int64_t kGemmSize = 8192;
constexpr int kWarmups = 3;
constexpr int kIterations = 20;

// A pair of CUDA events bracketing work on a stream.
class EventTimer {
 public:
  ~EventTimer() {
    if (start_ != nullptr) (void)cudaEventDestroy(start_);
    if (stop_ != nullptr) (void)cudaEventDestroy(stop_);
  }
  absl::Status Init() {
    EGMLA_CUDA_RETURN_IF_ERROR(cudaEventCreate(&start_));
    EGMLA_CUDA_RETURN_IF_ERROR(cudaEventCreate(&stop_));
    return absl::OkStatus();
  }
  absl::Status Start(StreamHandle stream) {
    EGMLA_CUDA_RETURN_IF_ERROR(cudaEventRecord(start_, stream));
    return absl::OkStatus();
  }
  // Records the stop event, waits for it, and returns the seconds between the two.
  absl::StatusOr<double> StopSeconds(StreamHandle stream) {
    EGMLA_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop_, stream));
    EGMLA_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    EGMLA_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3;
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

// Bytes read + written per second, in GB/s (10^9).
absl::StatusOr<double> MeasureCopyGBs(const Stream& stream, int64_t bytes) {
  EGMLA_ASSIGN_OR_RETURN(DeviceBuffer src, DeviceBuffer::Allocate(bytes));
  EGMLA_ASSIGN_OR_RETURN(DeviceBuffer dst, DeviceBuffer::Allocate(bytes));
  EGMLA_RETURN_IF_ERROR(src.Fill(0x5a));
  const auto copy = [&]() -> absl::Status {
    EGMLA_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst.data(), src.data(), static_cast<size_t>(bytes),
                                               cudaMemcpyDeviceToDevice, stream.handle()));
    return absl::OkStatus();
  };
  for (int i = 0; i < kWarmups; ++i) EGMLA_RETURN_IF_ERROR(copy());
  EventTimer timer;
  EGMLA_RETURN_IF_ERROR(timer.Init());
  EGMLA_RETURN_IF_ERROR(timer.Start(stream.handle()));
  for (int i = 0; i < kIterations; ++i) EGMLA_RETURN_IF_ERROR(copy());
  EGMLA_ASSIGN_OR_RETURN(const double seconds, timer.StopSeconds(stream.handle()));
  return 2.0 * static_cast<double>(bytes) * kIterations / seconds / 1e9;
}

// Uniform bf16 in [-1, 1) from a fixed-seed LCG (random data: zeros run faster on tensor cores).
std::vector<bf16> RandomBf16(int64_t n, uint64_t seed) {
  std::vector<bf16> out(static_cast<size_t>(n));
  uint64_t state = seed;
  for (bf16& v : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const float u = static_cast<float>(state >> 40) / static_cast<float>(1 << 24);  // [0, 1)
    v = bf16{F32ToBf16(2.0f * u - 1.0f)};
  }
  return out;
}

absl::StatusOr<DeviceBuffer> Upload(const std::vector<bf16>& host) {
  EGMLA_ASSIGN_OR_RETURN(DeviceBuffer buffer,
                         DeviceBuffer::Allocate(static_cast<int64_t>(host.size() * sizeof(bf16))));
  EGMLA_RETURN_IF_ERROR(buffer.CopyFromHost(host.data(), buffer.size_bytes()));
  return buffer;
}

// y[n, n] = x[n, n] · w[n, n]ᵀ in bf16 with fp32 accumulation; TFLOP/s (10^12).
absl::StatusOr<double> MeasureGemmTflops(const Stream& stream, int64_t n) {
  EGMLA_ASSIGN_OR_RETURN(DeviceBuffer x, Upload(RandomBf16(n * n, 1)));
  EGMLA_ASSIGN_OR_RETURN(DeviceBuffer w, Upload(RandomBf16(n * n, 2)));
  EGMLA_ASSIGN_OR_RETURN(DeviceBuffer y, DeviceBuffer::Allocate(n * n * sizeof(bf16)));
  EGMLA_ASSIGN_OR_RETURN(BlasHandle blas, BlasHandle::Create());
  const ops::cuda::LinearBf16Params params{
      .x = x.as<bf16>(), .w = w.as<bf16>(), .y = y.as<bf16>(), .rows = n, .in = n, .out = n};
  for (int i = 0; i < kWarmups; ++i) {
    EGMLA_RETURN_IF_ERROR(ops::cuda::LinearBf16(blas, params, stream.handle()));
  }
  EventTimer timer;
  EGMLA_RETURN_IF_ERROR(timer.Init());
  EGMLA_RETURN_IF_ERROR(timer.Start(stream.handle()));
  for (int i = 0; i < kIterations; ++i) {
    EGMLA_RETURN_IF_ERROR(ops::cuda::LinearBf16(blas, params, stream.handle()));
  }
  EGMLA_ASSIGN_OR_RETURN(const double seconds, timer.StopSeconds(stream.handle()));
  return 2.0 * static_cast<double>(n) * n * n * kIterations / seconds / 1e12;
}

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

absl::Status Run() {
  EGMLA_ASSIGN_OR_RETURN(const DeviceInfo info, QueryDevice(0));
  std::printf("device 0: %s\n", DescribeDevice(info).c_str());
  if (info.name.find("H100") == std::string::npos) {
    std::printf("note: the peaks below are the H100 SXM's; this device is not an H100\n");
  }
  EGMLA_ASSIGN_OR_RETURN(const Stream stream, Stream::Create());

  // Two buffers of kCopyBytes, leaving room on small cards.
  const int64_t copy_bytes = std::min(kCopyBytes, info.free_memory_bytes / 4);
  EGMLA_ASSIGN_OR_RETURN(const double copy_gbs, MeasureCopyGBs(stream, copy_bytes));
  std::printf(
      "d2d copy   %6.0f MiB x %d: %8.1f GB/s (read+write)  H100 SXM peak %6.0f GB/s: %5.1f%%\n",
      static_cast<double>(copy_bytes) / (1 << 20), kIterations, copy_gbs, kPeakBandwidthGBs,
      100.0 * copy_gbs / kPeakBandwidthGBs);

  EGMLA_ASSIGN_OR_RETURN(const double tflops, MeasureGemmTflops(stream, kGemmSize));
  std::printf(
      "bf16 GEMM  %ld^3 x %d (cuBLAS, fp32 acc): %8.1f TFLOP/s  H100 SXM peak %4.0f TFLOP/s: "
      "%5.1f%%\n",
      static_cast<long>(kGemmSize), kIterations, tflops, kPeakBf16Tflops,
      100.0 * tflops / kPeakBf16Tflops);

  std::printf("\ndocs/perf.md row:\n| %s | %s | %.0f GB/s (%.1f%%) | %.1f TFLOP/s (%.1f%%) |\n",
              TodayUtc().c_str(), info.name.c_str(), copy_gbs, 100.0 * copy_gbs / kPeakBandwidthGBs,
              tflops, 100.0 * tflops / kPeakBf16Tflops);
  return absl::OkStatus();
}

}  // namespace
}  // namespace egmla::cuda

int main() {
  const egmla::cuda::DeviceCount devices = egmla::cuda::CountDevices();
  if (devices.count == 0) {
    std::printf("gpu_smoke: no CUDA device (%s); nothing measured\n", devices.reason.c_str());
    return 0;
  }
  const absl::Status status = egmla::cuda::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "gpu_smoke: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
