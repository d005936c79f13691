// Content hash of a full KV-cache block for prefix caching (DESIGN §4): the hash of block i of a
// sequence is chained from the hash of block i - 1 and the block's token ids, so equal hashes
// stand for equal prefixes up to collisions (which BlockPool detects by comparing tokens and the
// parent block it was cached under).
#ifndef EGMLA_KVCACHE_BLOCK_HASH_H_
#define EGMLA_KVCACHE_BLOCK_HASH_H_

#include <cstdint>
#include <span>

namespace egmla {

using BlockHash = uint64_t;

// The parent hash of a sequence's first block.
inline constexpr BlockHash kRootBlockHash = 0x6a09e667f3bcc908ULL;

// A 64-bit hash of (parent, tokens), stable across processes and platforms. Thread-safe.
BlockHash HashBlockTokens(BlockHash parent, std::span<const int32_t> tokens);

}  // namespace egmla

#endif  // EGMLA_KVCACHE_BLOCK_HASH_H_
