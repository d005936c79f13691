#include "kernels/cuda/egmla_decode/egmla_plan.h"

#include <algorithm>

#include "kernels/cuda/egmla_decode/egmla_decode.h"

namespace egmla::ops::cuda {

void EgMlaPlan::Clear() {
  tokens.clear();
  segments.clear();
  splits.clear();
  rows.clear();
}

void AppendEgMlaRow(int32_t row, std::span<const int32_t> distinct_of_token,
                    std::span<const int32_t> gate_row_of, EgMlaPlan& plan) {
  const int64_t visible = static_cast<int64_t>(distinct_of_token.size());
  const int64_t num_ids = static_cast<int64_t>(gate_row_of.size());
  std::vector<int32_t> start(num_ids + 1, 0);  // [U + 1]: counting sort by distinct id
  for (int32_t u : distinct_of_token) ++start[u + 1];
  for (int64_t u = 0; u < num_ids; ++u) start[u + 1] += start[u];
  const int64_t base = static_cast<int64_t>(plan.tokens.size());
  plan.tokens.resize(base + visible);
  {
    std::vector<int32_t> next(start.begin(), start.end() - 1);
    for (int64_t j = 0; j < visible; ++j) {
      plan.tokens[base + next[distinct_of_token[j]]++] = static_cast<int32_t>(j);
    }
  }
  const int64_t first_segment = static_cast<int64_t>(plan.segments.size() / 3);
  for (int64_t u = 0; u < num_ids; ++u) {
    if (start[u + 1] == start[u]) continue;  // an id this row does not see yet
    plan.segments.insert(
        plan.segments.end(),
        {gate_row_of[u], static_cast<int32_t>(base + start[u]), start[u + 1] - start[u]});
  }
  const int64_t first_split = plan.num_splits();
  int64_t segment = first_segment;
  for (int64_t t = 0; t < visible; t += kEgMlaSplitTokens) {
    const int64_t begin = base + t, end = base + std::min(visible, t + kEgMlaSplitTokens);
    while (plan.segments[3 * segment + 1] + plan.segments[3 * segment + 2] <= begin) ++segment;
    plan.splits.insert(plan.splits.end(),
                       {row, static_cast<int32_t>(begin), static_cast<int32_t>(end),
                        static_cast<int32_t>(segment)});
  }
  plan.rows.insert(plan.rows.end(), {row, static_cast<int32_t>(first_split),
                                     static_cast<int32_t>(plan.num_splits() - first_split)});
}

}  // namespace egmla::ops::cuda
