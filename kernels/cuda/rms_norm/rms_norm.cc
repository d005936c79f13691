// RmsNormBf16 (ops_cuda.h): checks the params, picks the 16-byte path when the layout allows it,
// and wraps the launch error in a Status.
#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/ops_cuda.h"
#include "kernels/cuda/rms_norm/rms_norm_kernel.h"
#include "kernels/cuda/runtime/cuda_status.h"

namespace egmla::ops::cuda {
namespace {

constexpr int64_t kVectorElements = 8;

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

absl::Status Check(const RmsNormParams& p) {
  if (p.rows < 0 || p.rows > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RmsNormBf16: rows ", p.rows, " outside [0, 2^31 - 1]"));
  }
  if (p.width < 1 || p.width > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RmsNormBf16: width ", p.width, " outside [1, 2^31 - 1]"));
  }
  if (p.x_row_stride < p.width || p.y_row_stride < p.width) {
    return absl::InvalidArgumentError(absl::StrCat("RmsNormBf16: row strides ", p.x_row_stride,
                                                   " (x) and ", p.y_row_stride,
                                                   " (y) must be at least width ", p.width));
  }
  if (!std::isfinite(p.eps) || p.eps < 0.0f) {
    return absl::InvalidArgumentError(
        absl::StrCat("RmsNormBf16: eps ", p.eps, " must be finite and >= 0"));
  }
  if (p.rows > 0 && (p.x == nullptr || p.weight == nullptr || p.y == nullptr)) {
    return absl::InvalidArgumentError("RmsNormBf16: x, weight and y must not be null");
  }
  if (p.rows > 0 && static_cast<const void*>(p.x) == static_cast<const void*>(p.y) &&
      p.x_row_stride != p.y_row_stride) {
    return absl::InvalidArgumentError("RmsNormBf16: in place (y == x) needs equal row strides");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RmsNormBf16(const RmsNormParams& params, egmla::cuda::StreamHandle stream) {
  if (absl::Status s = Check(params); !s.ok()) return s;
  if (params.rows == 0) return absl::OkStatus();
  const bool vectorized = params.width % kVectorElements == 0 &&
                          params.x_row_stride % kVectorElements == 0 &&
                          params.y_row_stride % kVectorElements == 0 && Aligned16(params.x) &&
                          Aligned16(params.weight) && Aligned16(params.y);
  EGMLA_CUDA_RETURN_IF_ERROR(LaunchRmsNormBf16(params, vectorized, stream));
  return absl::OkStatus();
}

}  // namespace egmla::ops::cuda
