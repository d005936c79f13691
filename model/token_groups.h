// A sequence's tokens grouped by id, for the grouped EG-MLA decode (EGMLA_DECODE.md §2-3): the
// list of distinct ids in first-seen order and, per position, the index of its id in that list.
// Grown as tokens are appended (amortised O(1) per token), never shrunk: a preempted request's
// runner state, groups included, is dropped and rebuilt from its tokens.
#ifndef EGMLA_MODEL_TOKEN_GROUPS_H_
#define EGMLA_MODEL_TOKEN_GROUPS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace egmla {

class TokenGroups {
 public:
  // Appends the ids of the next positions.
  void Append(std::span<const int32_t> token_ids);
  // Keeps the first `n` positions (undoes an Append). REQUIRES: 0 <= n <= num_tokens().
  void Truncate(int64_t n);

  int64_t num_tokens() const { return static_cast<int64_t>(distinct_of_token_.size()); }
  int64_t num_distinct() const { return static_cast<int64_t>(distinct_ids_.size()); }
  const std::vector<int32_t>& distinct_ids() const { return distinct_ids_; }  // [U]
  const std::vector<int32_t>& distinct_of_token() const {                     // [T], in [0, U)
    return distinct_of_token_;
  }

 private:
  std::vector<int32_t> distinct_ids_;
  std::vector<int32_t> distinct_of_token_;
  absl::flat_hash_map<int32_t, int32_t> index_of_id_;
};

}  // namespace egmla

#endif  // EGMLA_MODEL_TOKEN_GROUPS_H_
