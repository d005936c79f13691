#include "common/kv_capacity.h"

namespace egmla {

int64_t NumBlocksForMemory(int64_t bytes, const CacheSpec& spec, int32_t block_size) {
  const int64_t bytes_per_token = spec.bytes_per_token();
  if (bytes <= 0 || block_size <= 0 || bytes_per_token <= 0) return 0;
  // Divide twice instead of multiplying: block_size * bytes_per_token may overflow for nonsense
  // specs, and floor(floor(a / b) / c) == floor(a / (b * c)).
  return bytes / bytes_per_token / block_size;
}

}  // namespace egmla
