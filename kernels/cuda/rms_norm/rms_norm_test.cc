// ctest label `gpu`: the CUDA RMSNorm against the CPU ops::RmsNorm on the same bf16 inputs.
//
// Tolerance: |gpu - ref| <= 2^-7 * |ref|, one bf16 ulp relative. `ref` is ops::RmsNorm in fp32 on
// the bf16 inputs; the kernel computes the same formula in fp32 and rounds once to bf16 (8
// significant bits), which alone moves a value by up to half an ulp, 2^-8 * |value|. The other
// half covers the fp32 differences before that rounding: the sum of squares in another order
// (relative error at most width * 2^-24, 1e-3 at width 16384, typically ~1e-6) and 1/sqrt.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "gtest/gtest.h"
#include "kernels/cuda/gpu_test_util.h"
#include "kernels/cuda/ops_cuda.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "kernels/ops.h"

namespace egmla::ops::cuda {
namespace {

using ::egmla::cuda::DeviceBuffer;
using ::egmla::cuda::gpu_test::GpuTest;
using ::egmla::cuda::gpu_test::GpuTestWithParam;

constexpr float kEps = 1e-6f;
const float kRelativeTolerance = std::ldexp(1.0f, -7);

struct Shape {
  int64_t rows;
  int64_t width;
  int64_t x_row_stride;  // 0: width
  int64_t y_row_stride;  // 0: width
};

std::string ShapeString(const Shape& s) {
  std::string name = std::to_string(s.rows) + "x" + std::to_string(s.width);
  if (s.x_row_stride != 0) name += "_xs" + std::to_string(s.x_row_stride);
  if (s.y_row_stride != 0) name += "_ys" + std::to_string(s.y_row_stride);
  return name;
}
std::string ShapeName(const ::testing::TestParamInfo<Shape>& info) {
  return ShapeString(info.param);
}
void PrintTo(const Shape& s, std::ostream* os) { *os << ShapeString(s); }

// Random bf16 values: normal, each row scaled by 10^[-3, 3] so rows differ in magnitude.
std::vector<bf16> RandomRows(int64_t rows, int64_t stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> exponent(-3.0f, 3.0f);
  std::vector<bf16> out(static_cast<size_t>(rows * stride));
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = std::pow(10.0f, exponent(rng));
    for (int64_t i = 0; i < stride; ++i) out[r * stride + i] = bf16{F32ToBf16(normal(rng) * scale)};
  }
  return out;
}

std::vector<bf16> RandomWeight(int64_t width, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<bf16> out(static_cast<size_t>(width));
  for (bf16& v : out) v = bf16{F32ToBf16(uniform(rng))};
  return out;
}

absl::StatusOr<DeviceBuffer> Upload(const std::vector<bf16>& host) {
  absl::StatusOr<DeviceBuffer> buffer =
      DeviceBuffer::Allocate(static_cast<int64_t>(host.size() * sizeof(bf16)));
  if (!buffer.ok()) return buffer.status();
  if (absl::Status s = buffer->CopyFromHost(host.data(), buffer->size_bytes()); !s.ok()) return s;
  return buffer;
}

std::vector<bf16> Download(const DeviceBuffer& buffer) {
  std::vector<bf16> host(static_cast<size_t>(buffer.size_bytes()) / sizeof(bf16));
  EXPECT_TRUE(buffer.CopyToHost(host.data(), buffer.size_bytes()).ok());
  return host;
}

// ops::RmsNorm on the bf16 values, as fp32: [rows, width].
std::vector<float> Reference(const std::vector<bf16>& x, int64_t rows, int64_t width,
                             int64_t stride, const std::vector<bf16>& w) {
  std::vector<float> xf(static_cast<size_t>(rows * width)), wf(static_cast<size_t>(width));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < width; ++i) xf[r * width + i] = Bf16ToF32(x[r * stride + i].bits);
  }
  for (int64_t i = 0; i < width; ++i) wf[i] = Bf16ToF32(w[i].bits);
  std::vector<float> y(xf.size());
  RmsNorm(xf.data(), wf.data(), y.data(), rows, width, kEps);
  return y;
}

class RmsNormCudaTest : public GpuTestWithParam<Shape> {};

TEST_P(RmsNormCudaTest, MatchesTheCpuOp) {
  const Shape& s = GetParam();
  const int64_t x_stride = s.x_row_stride ? s.x_row_stride : s.width;
  const int64_t y_stride = s.y_row_stride ? s.y_row_stride : s.width;
  const std::vector<bf16> x = RandomRows(s.rows, x_stride, 1234 + s.width);
  const std::vector<bf16> w = RandomWeight(s.width, 99);
  // y starts as all-ones bits (a NaN) so that writes past `width` would show.
  const std::vector<bf16> y_init(static_cast<size_t>(s.rows * y_stride), bf16{0xffff});

  absl::StatusOr<DeviceBuffer> x_dev = Upload(x), w_dev = Upload(w), y_dev = Upload(y_init);
  ASSERT_TRUE(x_dev.ok() && w_dev.ok() && y_dev.ok());
  const RmsNormParams params{.x = x_dev->as<bf16>(),
                             .weight = w_dev->as<bf16>(),
                             .y = y_dev->as<bf16>(),
                             .rows = s.rows,
                             .width = s.width,
                             .x_row_stride = x_stride,
                             .y_row_stride = y_stride,
                             .eps = kEps};
  const absl::Status status = RmsNormBf16(params, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  const std::vector<bf16> y = Download(*y_dev);
  const std::vector<float> ref = Reference(x, s.rows, s.width, x_stride, w);

  int64_t failures = 0;
  float worst = 0.0f;  // largest |gpu - ref| / |ref|
  for (int64_t r = 0; r < s.rows; ++r) {
    for (int64_t i = 0; i < y_stride; ++i) {
      const bf16 got = y[r * y_stride + i];
      if (i >= s.width) {
        ASSERT_EQ(got.bits, 0xffff) << "wrote past width at row " << r << " column " << i;
        continue;
      }
      const float want = ref[r * s.width + i];
      const float diff = std::fabs(Bf16ToF32(got.bits) - want);
      if (want != 0.0f) worst = std::max(worst, diff / std::fabs(want));
      if (!(diff <= kRelativeTolerance * std::fabs(want)) && ++failures <= 10) {
        ADD_FAILURE() << "row " << r << " column " << i << ": gpu " << Bf16ToF32(got.bits)
                      << " cpu " << want;
      }
    }
  }
  EXPECT_EQ(failures, 0);
  RecordProperty("worst_relative_error", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RmsNormCudaTest,
    ::testing::Values(Shape{1, 1, 0, 0},        // one element
                      Shape{3, 7, 0, 0},        // odd width, scalar path
                      Shape{64, 127, 0, 0},     // odd width under one warp's reach
                      Shape{33, 65, 0, 0},      // scalar, rows start unaligned
                      Shape{1000, 128, 0, 0},   // many rows, 16-byte path
                      Shape{17, 1000, 0, 0},    // 16-byte path, 125 vectors
                      Shape{5, 4096, 0, 0},     // a typical hidden size
                      Shape{2, 5123, 0, 0},     // odd and wide
                      Shape{257, 7168, 0, 0},   // DeepSeek-V3 hidden size
                      Shape{4, 16384, 0, 0},    // several vectors per thread
                      Shape{9, 512, 576, 520},  // strided rows (latent inside a wider row)
                      Shape{9, 64, 67, 0}),     // odd stride: scalar path
    ShapeName);

class RmsNormCudaGpuTest : public GpuTest {};

// DESIGN §4: a row's result is bitwise the same alone and inside a batch.
TEST_F(RmsNormCudaGpuTest, RowsAreBatchInvariant) {
  constexpr int64_t kRows = 300, kWidth = 4096, kRow = 123;
  const std::vector<bf16> x = RandomRows(kRows, kWidth, 7);
  const std::vector<bf16> w = RandomWeight(kWidth, 8);
  const std::vector<bf16> zeros(kRows * kWidth, bf16{0});
  absl::StatusOr<DeviceBuffer> x_dev = Upload(x), w_dev = Upload(w), y_dev = Upload(zeros),
                               y1_dev = Upload(std::vector<bf16>(kWidth, bf16{0}));
  ASSERT_TRUE(x_dev.ok() && w_dev.ok() && y_dev.ok() && y1_dev.ok());
  RmsNormParams batch{.x = x_dev->as<bf16>(),
                      .weight = w_dev->as<bf16>(),
                      .y = y_dev->as<bf16>(),
                      .rows = kRows,
                      .width = kWidth,
                      .x_row_stride = kWidth,
                      .y_row_stride = kWidth,
                      .eps = kEps};
  ASSERT_TRUE(RmsNormBf16(batch, nullptr).ok());
  RmsNormParams alone = batch;
  alone.x = x_dev->as<bf16>() + kRow * kWidth;
  alone.y = y1_dev->as<bf16>();
  alone.rows = 1;
  ASSERT_TRUE(RmsNormBf16(alone, nullptr).ok());
  const std::vector<bf16> y = Download(*y_dev), y1 = Download(*y1_dev);
  EXPECT_EQ(std::memcmp(y.data() + kRow * kWidth, y1.data(), kWidth * sizeof(bf16)), 0);
}

TEST_F(RmsNormCudaGpuTest, InPlaceEqualsOutOfPlace) {
  constexpr int64_t kRows = 8, kWidth = 1536;
  const std::vector<bf16> x = RandomRows(kRows, kWidth, 3);
  const std::vector<bf16> w = RandomWeight(kWidth, 4);
  absl::StatusOr<DeviceBuffer> x_dev = Upload(x), w_dev = Upload(w), y_dev = Upload(x);
  ASSERT_TRUE(x_dev.ok() && w_dev.ok() && y_dev.ok());
  RmsNormParams params{.x = x_dev->as<bf16>(),
                       .weight = w_dev->as<bf16>(),
                       .y = y_dev->as<bf16>(),
                       .rows = kRows,
                       .width = kWidth,
                       .x_row_stride = kWidth,
                       .y_row_stride = kWidth,
                       .eps = kEps};
  ASSERT_TRUE(RmsNormBf16(params, nullptr).ok());
  params.y = x_dev->as<bf16>();
  ASSERT_TRUE(RmsNormBf16(params, nullptr).ok());
  const std::vector<bf16> out = Download(*y_dev), in_place = Download(*x_dev);
  EXPECT_EQ(std::memcmp(out.data(), in_place.data(), out.size() * sizeof(bf16)), 0);
}

TEST_F(RmsNormCudaGpuTest, ZeroRowGivesZeros) {
  constexpr int64_t kWidth = 256;
  const std::vector<bf16> w = RandomWeight(kWidth, 5);
  absl::StatusOr<DeviceBuffer> x_dev = Upload(std::vector<bf16>(kWidth, bf16{0})),
                               w_dev = Upload(w),
                               y_dev = Upload(std::vector<bf16>(kWidth, bf16{0xffff}));
  ASSERT_TRUE(x_dev.ok() && w_dev.ok() && y_dev.ok());
  const RmsNormParams params{.x = x_dev->as<bf16>(),
                             .weight = w_dev->as<bf16>(),
                             .y = y_dev->as<bf16>(),
                             .rows = 1,
                             .width = kWidth,
                             .x_row_stride = kWidth,
                             .y_row_stride = kWidth,
                             .eps = kEps};
  ASSERT_TRUE(RmsNormBf16(params, nullptr).ok());
  for (const bf16 v : Download(*y_dev)) EXPECT_EQ(Bf16ToF32(v.bits), 0.0f);
}

// Checked before any CUDA call: these run with or without a device.
TEST(RmsNormCudaParamsTest, BadParamsAreInvalidArgument) {
  bf16 storage[64] = {};
  const RmsNormParams good{.x = storage,
                           .weight = storage,
                           .y = storage + 32,
                           .rows = 1,
                           .width = 16,
                           .x_row_stride = 16,
                           .y_row_stride = 16};
  auto code = [](const RmsNormParams& p) { return RmsNormBf16(p, nullptr).code(); };
  RmsNormParams p = good;
  p.width = 0;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.rows = -1;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.rows = int64_t{1} << 31;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.x_row_stride = 15;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.weight = nullptr;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.eps = NAN;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.y = storage;
  p.y_row_stride = 32;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);  // in place with unequal strides
  p = good;
  p.rows = 0;
  EXPECT_TRUE(RmsNormBf16(p, nullptr).ok());  // nothing to do, nothing launched
  const absl::Status status = [&] {
    RmsNormParams q = good;
    q.width = 0;
    return RmsNormBf16(q, nullptr);
  }();
  EXPECT_NE(status.message().find("width"), std::string::npos) << status;
}

}  // namespace
}  // namespace egmla::ops::cuda
