#include "kvcache/kv_cache_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace egmla {

KvCacheManager::KvCacheManager(int64_t num_blocks, int32_t block_size, bool enable_prefix_caching)
    : pool_(num_blocks, block_size), enable_prefix_caching_(enable_prefix_caching) {}

PrefixHit KvCacheManager::GetComputedTokens(std::span<const int32_t> token_ids) const {
  PrefixHit hit;
  if (!enable_prefix_caching_ || token_ids.empty()) return hit;
  const int32_t block_size = pool_.block_size();
  // Whole blocks, leaving at least one token to compute.
  const int64_t max_blocks = static_cast<int64_t>(token_ids.size() - 1) / block_size;
  hit.num_query_tokens = static_cast<int64_t>(token_ids.size());
  for (int64_t i = 0; i < max_blocks; ++i) {
    const std::span<const int32_t> tokens = token_ids.subspan(i * block_size, block_size);
    const BlockHash hash = HashBlockTokens(hit.last_hash, tokens);
    const std::optional<BlockId> block = pool_.FindCached(hash, hit.last_generation, tokens);
    if (!block) break;
    hit.blocks.push_back(*block);
    hit.last_hash = hash;
    hit.last_generation = pool_.generation(*block);
  }
  hit.num_tokens = static_cast<int64_t>(hit.blocks.size()) * block_size;
  return hit;
}

bool KvCacheManager::AllocateSlots(RequestId request_id, int64_t num_tokens, const PrefixHit& hit) {
  auto it = requests_.find(request_id);
  const int64_t num_held =
      it == requests_.end() ? 0 : static_cast<int64_t>(it->second.table.size());
  const int64_t num_hit = num_held == 0 ? static_cast<int64_t>(hit.blocks.size()) : 0;
  const int32_t block_size = pool_.block_size();
  const int64_t num_needed = (num_tokens + block_size - 1) / block_size;
  const int64_t num_new = std::max<int64_t>(0, num_needed - num_held - num_hit);
  // Hit blocks that sit in the free queue stop being free once touched.
  int64_t num_free_hits = 0;
  for (int64_t i = 0; i < num_hit; ++i) {
    if (pool_.ref_count(hit.blocks[i]) == 0) ++num_free_hits;
  }
  if (num_new > pool_.num_free_blocks() - num_free_hits) return false;
  if (it == requests_.end()) it = requests_.try_emplace(request_id).first;
  RequestBlocks& request = it->second;
  if (num_held == 0 && hit.num_query_tokens > 0) {
    for (int64_t i = 0; i < num_hit; ++i) pool_.Touch(hit.blocks[i]);
    request.table.assign(hit.blocks.begin(), hit.blocks.end());
    request.num_cached_blocks = num_hit;
    request.last_hash = hit.last_hash;
    request.last_generation = hit.last_generation;
    prefix_query_tokens_ += hit.num_query_tokens;
    prefix_hit_tokens_ += num_hit * block_size;
  }
  pool_.Allocate(num_new, &request.table);
  return true;
}

void KvCacheManager::CacheComputedBlocks(RequestId request_id, std::span<const int32_t> token_ids,
                                         int64_t num_computed_tokens) {
  if (!enable_prefix_caching_) return;
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  RequestBlocks& request = it->second;
  const int32_t block_size = pool_.block_size();
  const int64_t num_full = std::min<int64_t>(num_computed_tokens / block_size,
                                             static_cast<int64_t>(request.table.size()));
  if (num_full <= request.num_cached_blocks) return;
  for (int64_t i = request.num_cached_blocks; i < num_full; ++i) {
    const std::span<const int32_t> tokens = token_ids.subspan(i * block_size, block_size);
    const BlockHash hash = HashBlockTokens(request.last_hash, tokens);
    request.last_generation =
        pool_.CacheBlock(request.table[i], hash, request.last_generation, tokens);
    request.last_hash = hash;
  }
  request.num_cached_blocks = num_full;
}

void KvCacheManager::Free(RequestId request_id) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  const std::vector<BlockId>& table = it->second.table;
  for (auto block = table.rbegin(); block != table.rend(); ++block) pool_.Release(*block);
  requests_.erase(it);
}

std::span<const BlockId> KvCacheManager::block_table(RequestId request_id) const {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return {};
  return it->second.table;
}

absl::Status KvCacheManager::CheckInvariants() const {
  if (absl::Status status = pool_.CheckInvariants(); !status.ok()) return status;
  std::vector<int32_t> holders(pool_.num_blocks(), 0);
  for (const auto& [request_id, request] : requests_) {
    for (const BlockId block : request.table) {
      if (block < 0 || block >= pool_.num_blocks()) {
        return absl::InternalError(absl::StrCat("request ", request_id, " holds block ", block));
      }
      ++holders[block];
    }
    std::vector<BlockId> sorted = request.table;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return absl::InternalError(absl::StrCat("request ", request_id, " holds a block twice"));
    }
    if (request.num_cached_blocks > static_cast<int64_t>(request.table.size())) {
      return absl::InternalError(
          absl::StrCat("request ", request_id, " caches more blocks than it holds"));
    }
  }
  for (BlockId block = 0; block < pool_.num_blocks(); ++block) {
    if (pool_.ref_count(block) != holders[block]) {
      return absl::InternalError(absl::StrCat("block ", block, " has refcount ",
                                              pool_.ref_count(block), " but ", holders[block],
                                              " holders"));
    }
  }
  return absl::OkStatus();
}

}  // namespace egmla
