// Per-request block tables over one BlockPool, with prefix caching (DESIGN §4): what the
// scheduler calls to find cached prefixes, reserve slots, publish computed blocks and free a
// request. It hands out block ids only and never sees storage. Shaped after vLLM v1's
// KVCacheManager: AllocateSlots allocates nothing and returns false when the cache is full.
//
// Thread-safety: none; owned by the engine thread (through the Scheduler).
#ifndef EGMLA_KVCACHE_KV_CACHE_MANAGER_H_
#define EGMLA_KVCACHE_KV_CACHE_MANAGER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "kvcache/block_hash.h"
#include "kvcache/block_pool.h"

namespace egmla {

// A prefix-cache hit: cached blocks holding a request's leading tokens, and the hash chain that
// continues after them.
struct PrefixHit {
  std::vector<BlockId> blocks;  // in token order
  int64_t num_tokens = 0;       // blocks.size() * block_size
  BlockHash last_hash = kRootBlockHash;
  CacheGeneration last_generation = kRootGeneration;
  // Tokens the lookup covered (for the hit-rate counters); 0 when the cache was not consulted.
  int64_t num_query_tokens = 0;
};

class KvCacheManager {
 public:
  // REQUIRES: num_blocks >= 1, block_size >= 1.
  KvCacheManager(int64_t num_blocks, int32_t block_size, bool enable_prefix_caching);

  KvCacheManager(const KvCacheManager&) = delete;
  KvCacheManager& operator=(const KvCacheManager&) = delete;

  // The leading whole blocks of `token_ids` (all of a request's known tokens) that the prefix
  // cache holds, never all of the tokens, so that at least one is left to compute and yields
  // logits. An empty hit when prefix caching is off. Changes nothing: the hit is handed to
  // AllocateSlots, and is valid until the next call that changes the manager.
  PrefixHit GetComputedTokens(std::span<const int32_t> token_ids) const;

  // Makes the request's block table cover its first `num_tokens` tokens: for a request holding no
  // blocks, the blocks of `hit` (its GetComputedTokens, unchanged since) come first; fresh blocks
  // (from the head of the free queue) cover the rest. Returns false and changes nothing when there
  // are not enough free blocks. REQUIRES: num_tokens >= 0 and >= hit.num_tokens; a non-empty hit
  // only for a request that holds no blocks.
  bool AllocateSlots(RequestId request_id, int64_t num_tokens, const PrefixHit& hit = {});

  // Publishes the request's full blocks whose tokens are all computed, so that later requests
  // can reuse them. No-op when prefix caching is off. REQUIRES: token_ids are the request's
  // tokens, num_computed_tokens <= token_ids.size() and is covered by its block table.
  void CacheComputedBlocks(RequestId request_id, std::span<const int32_t> token_ids,
                           int64_t num_computed_tokens);

  // Releases the request's blocks, last block first (so that tail blocks are evicted first) and
  // forgets the request. No-op for a request that holds no blocks.
  void Free(RequestId request_id);

  // The request's blocks, in token order; empty for a request that holds none. Valid until the
  // next call that changes the manager.
  std::span<const BlockId> block_table(RequestId request_id) const;

  bool enable_prefix_caching() const { return enable_prefix_caching_; }
  int32_t block_size() const { return pool_.block_size(); }
  int64_t num_blocks() const { return pool_.num_blocks(); }
  // A partition of all blocks: held by live requests / free holding a reusable prefix / neither.
  int64_t num_used_blocks() const { return pool_.num_used_blocks(); }
  int64_t num_cached_free_blocks() const { return pool_.num_cached_free_blocks(); }
  int64_t num_uncached_free_blocks() const {
    return pool_.num_free_blocks() - pool_.num_cached_free_blocks();
  }
  // What AllocateSlots can hand out: cached and uncached free blocks.
  int64_t num_free_blocks() const { return pool_.num_free_blocks(); }
  // Blocks held by live requests / all blocks (prefix-cached free blocks count as free).
  double usage() const {
    return static_cast<double>(num_used_blocks()) / static_cast<double>(num_blocks());
  }
  // Prefix-cache counters, in tokens, over admissions that consulted the cache.
  int64_t prefix_cache_query_tokens() const { return prefix_query_tokens_; }
  int64_t prefix_cache_hit_tokens() const { return prefix_hit_tokens_; }

  const BlockPool& pool() const { return pool_; }

  // Checks the pool, and that every block's reference count is the number of block tables
  // holding it; O(num_blocks + held blocks). For tests and debugging.
  absl::Status CheckInvariants() const;

 private:
  struct RequestBlocks {
    std::vector<BlockId> table;
    // Leading blocks already hit or published; the prefix they hold is (last_hash,
    // last_generation) — the root for none.
    int64_t num_cached_blocks = 0;
    BlockHash last_hash = kRootBlockHash;
    CacheGeneration last_generation = kRootGeneration;
  };
  BlockPool pool_;
  const bool enable_prefix_caching_;
  absl::flat_hash_map<RequestId, RequestBlocks> requests_;
  int64_t prefix_query_tokens_ = 0;
  int64_t prefix_hit_tokens_ = 0;
};

}  // namespace egmla

#endif  // EGMLA_KVCACHE_KV_CACHE_MANAGER_H_
