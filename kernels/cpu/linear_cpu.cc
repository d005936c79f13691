// Batch-invariant fp32 Linear (see ops.h): every output element is the same sum in the same order
// — products accumulated in kLanes partial sums by k mod kLanes, the lanes added in a fixed tree,
// then the tail — whether its row is computed alone or in a block of kRowBlock rows. Threads
// split the output columns, which never changes a sum.
#include <algorithm>

#include "kernels/ops.h"

namespace egmla::ops {
namespace {

constexpr int kLanes = 8;
constexpr int kRowBlock = 4;
constexpr int64_t kColumnBlock = 64;
constexpr int64_t kParallelMinFlops = int64_t{1} << 18;

// y[i, o] for i < R and o in [o_begin, o_end); R rows share each load of a weight row.
template <int R>
void LinearRows(const float* x,  // [R, in]
                const float* w,  // [out, in]
                float* y,        // [R, out]
                int64_t in, int64_t out, int64_t o_begin, int64_t o_end) {
  const int64_t in_lanes = in - in % kLanes;
  for (int64_t o = o_begin; o < o_end; ++o) {
    const float* wo = w + o * in;
    float acc[R][kLanes] = {};
    for (int64_t k = 0; k < in_lanes; k += kLanes) {
      for (int i = 0; i < R; ++i) {
        for (int l = 0; l < kLanes; ++l) acc[i][l] += x[i * in + k + l] * wo[k + l];
      }
    }
    for (int i = 0; i < R; ++i) {
      const float* a = acc[i];
      float sum = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
      for (int64_t k = in_lanes; k < in; ++k) sum += x[i * in + k] * wo[k];
      y[i * out + o] = sum;
    }
  }
}

}  // namespace

void Linear(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out) {
  const int64_t num_column_blocks = (out + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (rows * in * out > kParallelMinFlops)
  for (int64_t block = 0; block < num_column_blocks; ++block) {
    const int64_t o_begin = block * kColumnBlock;
    const int64_t o_end = std::min(out, o_begin + kColumnBlock);
    int64_t r = 0;
    for (; r + kRowBlock <= rows; r += kRowBlock) {
      LinearRows<kRowBlock>(x + r * in, w, y + r * out, in, out, o_begin, o_end);
    }
    for (; r < rows; ++r) LinearRows<1>(x + r * in, w, y + r * out, in, out, o_begin, o_end);
  }
}

}  // namespace egmla::ops
