// Batch-invariant fp32 Linear (see ops.h): every output element is the same sum in the same order
// (kernels/cpu/vec.h) whether its row is computed alone or in a block of rows. Threads split the
// output columns, which never changes a sum.
#include <algorithm>

#include "kernels/cpu/cpu_threads.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"

namespace egmla::ops {
namespace {

constexpr int64_t kColumnBlock = 64;
// Below this many multiply-adds, waking the pool costs more than it saves.
constexpr int64_t kParallelMinMacs = int64_t{1} << 19;

}  // namespace

void Linear(const float* x, const float* w, float* y, int64_t rows, int64_t in, int64_t out) {
  const VecOps& vec = Vec();
  const int64_t num_blocks = (out + kColumnBlock - 1) / kColumnBlock;
  auto columns = [&](int64_t first_block, int64_t end_block) {
    vec.linear_columns(x, w, y, rows, in, out, first_block * kColumnBlock,
                       std::min(out, end_block * kColumnBlock));
  };
  if (rows * in * out < kParallelMinMacs) {
    columns(0, num_blocks);
  } else {
    CpuPool().ParallelFor(num_blocks, 1, columns);
  }
}

}  // namespace egmla::ops
