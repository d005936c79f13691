#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

// Debian's Abseil has its own absl::string_view, which its hash maps take for lookups.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    absl::flat_hash_map<std::string, int32_t> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges, const Options& options) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->vocab_ = std::move(vocab);
  model->options_ = options;
  for (int b = 0; b < 256; ++b) {
    auto it = model->vocab_.find(std::string(1, static_cast<char>(b)));
    model->byte_ids_[b] = it == model->vocab_.end() ? -1 : it->second;
  }
  model->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto left_it = model->vocab_.find(left);
    auto right_it = model->vocab_.find(right);
    auto merged_it = model->vocab_.find(left + right);
    if (left_it == model->vocab_.end() || right_it == model->vocab_.end() ||
        merged_it == model->vocab_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer.json model.merges[", rank,
                       "]: ", merged_it == model->vocab_.end() ? "the merged token" : "a part",
                       " is not in model.vocab"));
    }
    model->merges_.insert_or_assign(PairKey(left_it->second, right_it->second),
                                    MergeRule{static_cast<int32_t>(rank), merged_it->second});
  }
  return model;
}

std::optional<int32_t> BpeModel::Find(std::string_view bytes) const {
  auto it = vocab_.find(AbslView(bytes));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::ApplyMerges(std::vector<int32_t>* symbols) const {
  const int n = static_cast<int>(symbols->size());
  if (n < 2) return;
  std::vector<int32_t>& id = *symbols;  // -1 once merged into its left neighbour
  std::vector<int> next(n);
  std::vector<int> prev(n);
  for (int i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  struct Candidate {
    int32_t rank;
    int pos;  // the left symbol; positions keep text order, so ties go leftmost first
    int32_t left;
    int32_t right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(PairKey(id[pos], id[next[pos]]));
    if (it != merges_.end()) queue.push({it->second.rank, pos, id[pos], id[next[pos]]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int right = next[top.pos];
    // Stale when either symbol changed since the candidate was queued.
    if (id[top.pos] != top.left || right < 0 || id[right] != top.right) continue;
    id[top.pos] = merges_.find(PairKey(top.left, top.right))->second.merged_id;
    id[right] = -1;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    push(prev[top.pos]);
    push(top.pos);
  }
  std::erase(id, -1);
}

void BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto it = vocab_.find(AbslView(word)); it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() < kMaxCachedWordBytes;
  if (cacheable) {
    absl::MutexLock lock(&cache_mutex_);
    if (auto it = cache_.find(AbslView(word)); it != cache_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  bool previous_unk = false;
  for (char c : word) {
    const uint8_t b = static_cast<uint8_t>(c);
    if (byte_ids_[b] >= 0) {
      symbols.push_back(byte_ids_[b]);
      previous_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      if (auto it = vocab_.find(name); it != vocab_.end()) {
        symbols.push_back(it->second);
        previous_unk = false;
        continue;
      }
    }
    if (!options_.unk_id) continue;  // as tokenizers does without an unk token: dropped
    if (!(options_.fuse_unk && previous_unk)) symbols.push_back(*options_.unk_id);
    previous_unk = true;
  }
  ApplyMerges(&symbols);
  ids->insert(ids->end(), symbols.begin(), symbols.end());
  if (cacheable) {
    absl::MutexLock lock(&cache_mutex_);
    if (cache_.size() < kMaxCacheEntries) cache_.try_emplace(std::string(word), std::move(symbols));
  }
}

}  // namespace egmla
