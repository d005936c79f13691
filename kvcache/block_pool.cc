#include "kvcache/block_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

// A broken REQUIRES would corrupt the pool; stop before it does.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "BlockPool: %s\n", what);
  std::abort();
}

}  // namespace

BlockPool::BlockPool(int64_t num_blocks, int32_t block_size)
    : block_size_(block_size), sentinel_(static_cast<BlockId>(num_blocks)) {
  if (num_blocks < 1 || block_size < 1 || num_blocks > INT32_MAX - 1) {
    Die("num_blocks and block_size must be positive");
  }
  blocks_.resize(num_blocks);
  sentinel_node_.next = sentinel_node_.prev = sentinel_;
  for (BlockId id = 0; id < sentinel_; ++id) QueueAppend(id);
}

void BlockPool::QueueRemove(BlockId block) {
  Block& b = blocks_[block];
  node(b.prev).next = b.next;
  node(b.next).prev = b.prev;
  b.prev = b.next = -1;
  --num_free_;
  if (b.generation != kRootGeneration) --num_cached_free_;
}

void BlockPool::QueueAppend(BlockId block) {
  Block& b = blocks_[block];
  const BlockId tail = sentinel_node_.prev;
  b.prev = tail;
  b.next = sentinel_;
  node(tail).next = block;
  sentinel_node_.prev = block;
  ++num_free_;
  if (b.generation != kRootGeneration) ++num_cached_free_;
}

void BlockPool::Allocate(int64_t n, std::vector<BlockId>* out) {
  if (n < 0 || n > num_free_) Die("Allocate: not enough free blocks");
  out->reserve(out->size() + n);
  for (int64_t i = 0; i < n; ++i) {
    const BlockId block = sentinel_node_.next;
    QueueRemove(block);
    blocks_[block].ref_count = 1;
    if (blocks_[block].generation != kRootGeneration) Uncache(block);
    out->push_back(block);
  }
}

void BlockPool::Touch(BlockId block) {
  Block& b = blocks_[block];
  if (b.ref_count == 0) QueueRemove(block);
  ++b.ref_count;
}

void BlockPool::Release(BlockId block) {
  Block& b = blocks_[block];
  if (b.ref_count <= 0) Die("Release: block is already free");
  if (--b.ref_count == 0) QueueAppend(block);
}

void BlockPool::Uncache(BlockId block) {
  Block& b = blocks_[block];
  index_.erase(b.hash);
  if (b.ref_count == 0) --num_cached_free_;
  b.generation = kRootGeneration;
  b.parent = kRootGeneration;
  b.hash = 0;
}

std::span<int32_t> BlockPool::token_slot(BlockId block) {
  return std::span<int32_t>(tokens_).subspan(static_cast<size_t>(block) * block_size_, block_size_);
}

std::span<const int32_t> BlockPool::cached_tokens(BlockId block) const {
  return std::span<const int32_t>(tokens_).subspan(static_cast<size_t>(block) * block_size_,
                                                   block_size_);
}

std::optional<BlockId> BlockPool::FindCached(BlockHash hash, CacheGeneration parent,
                                             std::span<const int32_t> tokens) const {
  const auto it = index_.find(hash);
  if (it == index_.end()) return std::nullopt;
  const BlockId block = it->second;
  if (blocks_[block].parent != parent || tokens.size() != static_cast<size_t>(block_size_) ||
      !std::equal(tokens.begin(), tokens.end(), cached_tokens(block).begin())) {
    return std::nullopt;
  }
  return block;
}

CacheGeneration BlockPool::CacheBlock(BlockId block, BlockHash hash, CacheGeneration parent,
                                      std::span<const int32_t> tokens) {
  Block& b = blocks_[block];
  if (b.ref_count <= 0 || b.generation != kRootGeneration ||
      tokens.size() != static_cast<size_t>(block_size_)) {
    Die("CacheBlock: block must be held, uncached and full");
  }
  if (const std::optional<BlockId> equal = FindCached(hash, parent, tokens)) {
    return blocks_[*equal].generation;
  }
  if (const auto it = index_.find(hash); it != index_.end()) Uncache(it->second);
  if (tokens_.empty()) tokens_.resize(blocks_.size() * block_size_);
  std::copy(tokens.begin(), tokens.end(), token_slot(block).begin());
  b.hash = hash;
  b.parent = parent;
  b.generation = next_generation_++;
  index_.emplace(hash, block);
  return b.generation;
}

absl::Status BlockPool::CheckInvariants() const {
  // The free queue: well linked, exactly the blocks without references.
  int64_t queued = 0;
  int64_t queued_cached = 0;
  BlockId prev = sentinel_;
  for (BlockId id = sentinel_node_.next; id != sentinel_; id = blocks_[id].next) {
    if (id < 0 || id >= sentinel_ || queued > num_blocks()) {
      return absl::InternalError(absl::StrCat("free queue is broken at block ", id));
    }
    const Block& b = blocks_[id];
    if (b.prev != prev) return absl::InternalError(absl::StrCat("bad prev link at block ", id));
    if (b.ref_count != 0) {
      return absl::InternalError(
          absl::StrCat("block ", id, " is free and referenced (", b.ref_count, ")"));
    }
    ++queued;
    if (b.generation != kRootGeneration) ++queued_cached;
    prev = id;
  }
  if (sentinel_node_.prev != prev) return absl::InternalError("bad tail link");
  int64_t unreferenced = 0;
  int64_t cached = 0;
  for (BlockId id = 0; id < sentinel_; ++id) {
    const Block& b = blocks_[id];
    if (b.ref_count < 0) return absl::InternalError(absl::StrCat("negative refcount at ", id));
    if (b.ref_count == 0) ++unreferenced;
    if (b.generation != kRootGeneration) {
      ++cached;
      const auto it = index_.find(b.hash);
      if (it == index_.end() || it->second != id) {
        return absl::InternalError(absl::StrCat("cached block ", id, " is not indexed"));
      }
      if (b.generation >= next_generation_ || b.parent >= b.generation) {
        return absl::InternalError(absl::StrCat("bad generations at block ", id));
      }
    }
  }
  if (queued != unreferenced || queued != num_free_) {
    return absl::InternalError(absl::StrCat("free queue holds ", queued, " blocks, ", unreferenced,
                                            " are unreferenced, counter says ", num_free_));
  }
  if (queued_cached != num_cached_free_) {
    return absl::InternalError(absl::StrCat("cached free blocks: queue has ", queued_cached,
                                            ", counter says ", num_cached_free_));
  }
  if (cached != static_cast<int64_t>(index_.size())) {
    return absl::InternalError(
        absl::StrCat(cached, " cached blocks but ", index_.size(), " index entries"));
  }
  return absl::OkStatus();
}

}  // namespace egmla
