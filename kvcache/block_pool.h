// The pool of KV-cache blocks (DESIGN §4): reference counts, a free queue, and the prefix-cache
// index of full blocks. Free blocks that hold a prefix stay findable until they are evicted,
// least recently freed first — vLLM v1's FreeKVCacheBlockQueue: a freed block is appended to the
// tail, a fresh block is taken from the head, and a cached block that is hit again leaves the
// queue wherever it is.
//
// Prefix identity: every time a block is cached it gets a new CacheGeneration (unique for the life
// of the pool). A cached block records the generation of the block it was cached after, so a
// lookup matches a block only when its tokens are equal and its parent is the very block matched
// before it: a hash collision can cost a hit but never return a wrong block.
//
// Thread-safety: none; owned by the engine thread (through KvCacheManager).
#ifndef EGMLA_KVCACHE_BLOCK_POOL_H_
#define EGMLA_KVCACHE_BLOCK_POOL_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "kvcache/block_hash.h"

namespace egmla {

// Identifies one caching of one block; 0 = the root (parent of a sequence's first block), and
// "not cached" on a block.
using CacheGeneration = uint64_t;
inline constexpr CacheGeneration kRootGeneration = 0;

class BlockPool {
 public:
  // All blocks start free, uncached, in id order. REQUIRES: num_blocks >= 1, block_size >= 1.
  BlockPool(int64_t num_blocks, int32_t block_size);

  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int32_t block_size() const { return block_size_; }
  // Blocks with no reference (cached or not): what Allocate can hand out.
  int64_t num_free_blocks() const { return num_free_; }
  // Free blocks that still hold a reusable prefix.
  int64_t num_cached_free_blocks() const { return num_cached_free_; }
  // Blocks with at least one reference.
  int64_t num_used_blocks() const { return num_blocks() - num_free_; }

  // Appends `n` blocks taken from the head of the free queue to `out`, each with reference count
  // 1; a block that held a prefix loses it (eviction). REQUIRES: 0 <= n <= num_free_blocks().
  void Allocate(int64_t n, std::vector<BlockId>* out);
  // Adds a reference to `block` (a prefix hit); a free block leaves the free queue.
  void Touch(BlockId block);
  // Drops one reference; at zero the block joins the tail of the free queue and keeps its
  // prefix. REQUIRES: ref_count(block) > 0.
  void Release(BlockId block);

  int32_t ref_count(BlockId block) const { return blocks_[block].ref_count; }
  bool is_cached(BlockId block) const { return blocks_[block].generation != kRootGeneration; }
  // The block's current generation; kRootGeneration when it holds no prefix.
  CacheGeneration generation(BlockId block) const { return blocks_[block].generation; }
  // The tokens a cached block holds. REQUIRES: is_cached(block).
  std::span<const int32_t> cached_tokens(BlockId block) const;

  // The cached block holding `tokens` after the block of generation `parent` (kRootGeneration
  // for a sequence's first block), whose hash is `hash`; nullopt when there is none.
  std::optional<BlockId> FindCached(BlockHash hash, CacheGeneration parent,
                                    std::span<const int32_t> tokens) const;

  // Registers `block`, whose tokens are computed, as holding `tokens` after the block of
  // generation `parent`. Returns the generation that stands for this prefix from now on: that of
  // an equal block already cached (then `block` stays uncached), else a new one for `block`, which
  // replaces any other block cached under `hash` (a collision, or a block whose parent was
  // evicted: unreachable anyway).
  // REQUIRES: ref_count(block) > 0, !is_cached(block), tokens.size() == block_size().
  CacheGeneration CacheBlock(BlockId block, BlockHash hash, CacheGeneration parent,
                             std::span<const int32_t> tokens);

  // Checks the free queue, the counters and the index against each other; O(num_blocks).
  absl::Status CheckInvariants() const;

 private:
  struct Block {
    int32_t ref_count = 0;
    BlockId prev = -1;  // free-queue links; the sentinel is num_blocks()
    BlockId next = -1;
    BlockHash hash = 0;                            // valid when cached
    CacheGeneration generation = kRootGeneration;  // != kRootGeneration when cached
    CacheGeneration parent = kRootGeneration;      // valid when cached
  };

  Block& node(BlockId id) { return id == sentinel_ ? sentinel_node_ : blocks_[id]; }
  void QueueRemove(BlockId block);
  void QueueAppend(BlockId block);
  // Drops the block's prefix and its index entry; the block keeps its place in or out of the
  // free queue (ref_count == 0 means it is queued).
  void Uncache(BlockId block);
  std::span<int32_t> token_slot(BlockId block);

  const int32_t block_size_;
  const BlockId sentinel_;
  std::vector<Block> blocks_;  // [num_blocks]
  Block sentinel_node_;        // next = head of the free queue, prev = tail
  int64_t num_free_ = 0;
  int64_t num_cached_free_ = 0;
  CacheGeneration next_generation_ = kRootGeneration + 1;
  absl::flat_hash_map<BlockHash, BlockId> index_;  // hash -> the cached block holding it
  std::vector<int32_t> tokens_;  // [num_blocks, block_size] tokens of cached blocks; sized lazily
};

}  // namespace egmla

#endif  // EGMLA_KVCACHE_BLOCK_POOL_H_
