#include "model/token_groups.h"

#include <algorithm>

namespace egmla {

void TokenGroups::Append(std::span<const int32_t> token_ids) {
  distinct_of_token_.reserve(distinct_of_token_.size() + token_ids.size());
  for (const int32_t id : token_ids) {
    const auto [it, inserted] =
        index_of_id_.try_emplace(id, static_cast<int32_t>(distinct_ids_.size()));
    if (inserted) distinct_ids_.push_back(id);
    distinct_of_token_.push_back(it->second);
  }
}

void TokenGroups::Truncate(int64_t n) {
  distinct_of_token_.resize(n);
  // Ids are numbered in first-seen order: the ids the kept positions use are a prefix.
  int32_t num_kept = 0;
  for (const int32_t u : distinct_of_token_) num_kept = std::max(num_kept, u + 1);
  for (size_t u = num_kept; u < distinct_ids_.size(); ++u) index_of_id_.erase(distinct_ids_[u]);
  distinct_ids_.resize(num_kept);
}

}  // namespace egmla
