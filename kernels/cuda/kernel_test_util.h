// Test helpers for the model kernels (gpu and emu builds): vectors to and from device memory,
// bf16 rounding, and a max-error check. For test code only.
#ifndef EGMLA_KERNELS_CUDA_KERNEL_TEST_UTIL_H_
#define EGMLA_KERNELS_CUDA_KERNEL_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/dtype.h"
#include "gtest/gtest.h"
#include "kernels/cuda/bf16.h"
#include "kernels/cuda/runtime/device_buffer.h"

namespace egmla::cuda::kernel_test {

template <typename T>
DeviceBuffer Upload(const std::vector<T>& host) {
  absl::StatusOr<DeviceBuffer> buffer =
      DeviceBuffer::Allocate(static_cast<int64_t>(host.size() * sizeof(T)));
  EXPECT_TRUE(buffer.ok()) << buffer.status();
  if (!host.empty()) {
    EXPECT_TRUE(buffer->CopyFromHost(host.data(), buffer->size_bytes()).ok());
  }
  return *std::move(buffer);
}

template <typename T>
std::vector<T> Download(const DeviceBuffer& buffer) {
  std::vector<T> host(static_cast<size_t>(buffer.size_bytes()) / sizeof(T));
  if (!host.empty()) {
    const absl::Status s = buffer.CopyToHost(host.data(), buffer.size_bytes());
    EXPECT_TRUE(s.ok()) << s;
  }
  return host;
}

// Normal values of standard deviation `scale`, rounded to bf16 (so the CPU reference and the
// kernel see the same inputs).
inline std::vector<float> RandomBf16Values(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = Bf16ToF32(F32ToBf16(normal(rng)));
  return v;
}

inline std::vector<bf16> ToBf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16{F32ToBf16(v[i])};
  return out;
}
inline std::vector<float> ToF32(const std::vector<bf16>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = Bf16ToF32(v[i].bits);
  return out;
}

// Every |got - want| <= abs_tol + rel_tol * |want|; reports the first violation.
inline void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float rel_tol,
                       float abs_tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(std::abs(got[i] - want[i]), abs_tol + rel_tol * std::abs(want[i]))
        << "element " << i << ": got " << got[i] << ", want " << want[i];
  }
}

}  // namespace egmla::cuda::kernel_test

#endif  // EGMLA_KERNELS_CUDA_KERNEL_TEST_UTIL_H_
