// The host-side plan of the grouped EG-MLA decode (egmla_decode.h), built once per step for all
// layers: each decode row's visible positions grouped by id (counting sort, O(visible)), as
// segments of one id, cut into splits of kEgMlaSplitTokens tokens. Plain C++ (no CUDA).
#ifndef EGMLA_KERNELS_CUDA_EGMLA_DECODE_EGMLA_PLAN_H_
#define EGMLA_KERNELS_CUDA_EGMLA_DECODE_EGMLA_PLAN_H_

#include <cstdint>
#include <span>
#include <vector>

namespace egmla::ops::cuda {

struct EgMlaPlan {
  std::vector<int32_t> tokens;    // positions, each row's in id order
  std::vector<int32_t> segments;  // [n, 3]: (gate row, first token, tokens)
  std::vector<int32_t> splits;    // [n, 4]: (row, first token, end token, first segment)
  std::vector<int32_t> rows;      // [n, 3]: (row, first split, splits)

  int64_t num_splits() const { return static_cast<int64_t>(splits.size() / 4); }
  int64_t num_rows() const { return static_cast<int64_t>(rows.size() / 3); }
  void Clear();
};

// Appends batch row `row`, which sees positions [0, distinct_of_token.size()): its tokens grouped
// by distinct_of_token (ids in first-seen order, positions ascending within one), the gate row of
// distinct id u being gate_row_of[u].
// REQUIRES: visible >= 1; every distinct_of_token[j] < gate_row_of.size().
void AppendEgMlaRow(int32_t row, std::span<const int32_t> distinct_of_token,
                    std::span<const int32_t> gate_row_of, EgMlaPlan& plan);

}  // namespace egmla::ops::cuda

#endif  // EGMLA_KERNELS_CUDA_EGMLA_DECODE_EGMLA_PLAN_H_
