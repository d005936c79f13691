// How many KV-cache blocks a memory budget holds (DESIGN §4, §5.1 --kv-cache-memory). The
// --num-kv-blocks override is the caller's business.
#ifndef EGMLA_COMMON_KV_CAPACITY_H_
#define EGMLA_COMMON_KV_CAPACITY_H_

#include <cstdint>

#include "common/cache_spec.h"

namespace egmla {

// bytes / (block_size * spec.bytes_per_token()), rounded down; 0 when bytes <= 0, block_size <= 0
// or the spec stores nothing per token.
int64_t NumBlocksForMemory(int64_t bytes, const CacheSpec& spec, int32_t block_size);

}  // namespace egmla

#endif  // EGMLA_COMMON_KV_CAPACITY_H_
