// ctest label `gpu`: the cuBLAS bf16 Linear against the CPU ops::Linear on the same bf16 inputs.
//
// Tolerance, per element: |gpu - ref| <= 2^-8 * |ref| + in * 2^-22 * sum_k |x_k * w_k|.
// Products of bf16 values are exact in fp32, so the two results differ only by (a) fp32 summation
// in different orders — each within in * 2^-24 * sum|x_k w_k| of the exact sum (the classic
// gamma_n bound; 2^-22 leaves a factor 2 for tensor cores that truncate instead of rounding and
// another for the CPU's own error) — and (b) the final rounding to bf16, at most half an ulp,
// 2^-8 * |value|. The second term matters where the sum cancels; random data sits far inside it.
#include <cmath>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/dtype.h"
#include "gtest/gtest.h"
#include "kernels/cuda/gpu_test_util.h"
#include "kernels/cuda/ops_cuda.h"
#include "kernels/cuda/runtime/blas_handle.h"
#include "kernels/cuda/runtime/device_buffer.h"
#include "kernels/cuda/runtime/stream.h"
#include "kernels/ops.h"

namespace egmla::ops::cuda {
namespace {

using ::egmla::cuda::BlasHandle;
using ::egmla::cuda::DeviceBuffer;
using ::egmla::cuda::Stream;
using ::egmla::cuda::gpu_test::GpuTest;
using ::egmla::cuda::gpu_test::GpuTestWithParam;

struct Shape {
  int64_t rows;
  int64_t in;
  int64_t out;
};

std::string ShapeString(const Shape& s) {
  return std::to_string(s.rows) + "x" + std::to_string(s.in) + "x" + std::to_string(s.out);
}
std::string ShapeName(const ::testing::TestParamInfo<Shape>& info) {
  return ShapeString(info.param);
}
void PrintTo(const Shape& s, std::ostream* os) { *os << ShapeString(s); }

// Uniform in [-1, 1), rounded to bf16; `as_float` receives the same values as fp32.
std::vector<bf16> RandomBf16(int64_t n, uint32_t seed, std::vector<float>* as_float) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<bf16> out(static_cast<size_t>(n));
  as_float->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out[i] = bf16{F32ToBf16(uniform(rng))};
    (*as_float)[i] = Bf16ToF32(out[i].bits);
  }
  return out;
}

absl::StatusOr<DeviceBuffer> Upload(const std::vector<bf16>& host) {
  absl::StatusOr<DeviceBuffer> buffer =
      DeviceBuffer::Allocate(static_cast<int64_t>(host.size() * sizeof(bf16)));
  if (!buffer.ok()) return buffer.status();
  if (absl::Status s = buffer->CopyFromHost(host.data(), buffer->size_bytes()); !s.ok()) return s;
  return buffer;
}

struct Context {
  BlasHandle blas;
  Stream stream;
};

absl::StatusOr<Context> MakeContext() {
  absl::StatusOr<BlasHandle> blas = BlasHandle::Create();
  if (!blas.ok()) return blas.status();
  absl::StatusOr<Stream> stream = Stream::Create();
  if (!stream.ok()) return stream.status();
  return Context{std::move(*blas), std::move(*stream)};
}

class LinearBf16CudaTest : public GpuTestWithParam<Shape> {};

TEST_P(LinearBf16CudaTest, MatchesTheCpuOp) {
  const Shape& s = GetParam();
  absl::StatusOr<Context> ctx = MakeContext();
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  std::vector<float> xf, wf;
  const std::vector<bf16> x = RandomBf16(s.rows * s.in, 11 + s.in, &xf);
  const std::vector<bf16> w = RandomBf16(s.out * s.in, 22 + s.out, &wf);
  absl::StatusOr<DeviceBuffer> x_dev = Upload(x), w_dev = Upload(w),
                               y_dev = Upload(std::vector<bf16>(s.rows * s.out, bf16{0xffff}));
  ASSERT_TRUE(x_dev.ok() && w_dev.ok() && y_dev.ok());
  const LinearBf16Params params{.x = x_dev->as<bf16>(),
                                .w = w_dev->as<bf16>(),
                                .y = y_dev->as<bf16>(),
                                .rows = s.rows,
                                .in = s.in,
                                .out = s.out};
  absl::Status status = LinearBf16(ctx->blas, params, ctx->stream.handle());
  ASSERT_TRUE(status.ok()) << status;
  status = ctx->stream.Synchronize();
  ASSERT_TRUE(status.ok()) << status;
  std::vector<bf16> y(static_cast<size_t>(s.rows * s.out));
  ASSERT_TRUE(y_dev->CopyToHost(y.data(), y_dev->size_bytes()).ok());

  std::vector<float> ref(y.size()), abs_dot(y.size());
  Linear(xf.data(), wf.data(), ref.data(), s.rows, s.in, s.out);
  for (float& v : xf) v = std::fabs(v);
  for (float& v : wf) v = std::fabs(v);
  Linear(xf.data(), wf.data(), abs_dot.data(), s.rows, s.in, s.out);

  const float rounding = std::ldexp(1.0f, -8);
  const float summation = static_cast<float>(s.in) * std::ldexp(1.0f, -22);
  int64_t failures = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const float got = Bf16ToF32(y[i].bits);
    const float tolerance = rounding * std::fabs(ref[i]) + summation * abs_dot[i];
    if (!(std::fabs(got - ref[i]) <= tolerance) && ++failures <= 10) {
      ADD_FAILURE() << "y[" << i / s.out << ", " << i % s.out << "]: gpu " << got << " cpu "
                    << ref[i] << " tolerance " << tolerance;
    }
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearBf16CudaTest,
                         ::testing::Values(Shape{1, 64, 64},       // one decode row
                                           Shape{7, 129, 33},      // odd everything
                                           Shape{3, 1, 5},         // in = 1
                                           Shape{64, 1024, 512},   // a small prefill
                                           Shape{256, 4096, 1024}  // split-K territory
                                           ),
                         ShapeName);

class LinearBf16CudaGpuTest : public GpuTest {};

TEST_F(LinearBf16CudaGpuTest, EmptyInnerDimensionGivesZeros) {
  absl::StatusOr<Context> ctx = MakeContext();
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  absl::StatusOr<DeviceBuffer> y_dev = Upload(std::vector<bf16>(6, bf16{0xffff}));
  ASSERT_TRUE(y_dev.ok());
  const LinearBf16Params params{
      .x = nullptr, .w = nullptr, .y = y_dev->as<bf16>(), .rows = 2, .in = 0, .out = 3};
  ASSERT_TRUE(LinearBf16(ctx->blas, params, ctx->stream.handle()).ok());
  ASSERT_TRUE(ctx->stream.Synchronize().ok());
  std::vector<bf16> y(6);
  ASSERT_TRUE(y_dev->CopyToHost(y.data(), y_dev->size_bytes()).ok());
  for (const bf16 v : y) EXPECT_EQ(v.bits, 0);
}

TEST_F(LinearBf16CudaGpuTest, BadParamsAreInvalidArgument) {
  absl::StatusOr<Context> ctx = MakeContext();
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  bf16 storage[16] = {};
  const LinearBf16Params good{
      .x = storage, .w = storage, .y = storage + 8, .rows = 1, .in = 2, .out = 2};
  LinearBf16Params p = good;
  p.rows = -1;
  EXPECT_EQ(LinearBf16(ctx->blas, p, ctx->stream.handle()).code(),
            absl::StatusCode::kInvalidArgument);
  p = good;
  p.in = int64_t{1} << 31;
  EXPECT_EQ(LinearBf16(ctx->blas, p, ctx->stream.handle()).code(),
            absl::StatusCode::kInvalidArgument);
  p = good;
  p.w = nullptr;
  EXPECT_EQ(LinearBf16(ctx->blas, p, ctx->stream.handle()).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace egmla::ops::cuda
