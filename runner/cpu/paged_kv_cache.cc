#include "runner/cpu/paged_kv_cache.h"

namespace egmla {

PagedKvCache::PagedKvCache(const CacheSpec& spec, bool keeps_token_ids, int64_t num_blocks,
                           int64_t block_size)
    : num_blocks_(num_blocks) {
  const int64_t slots = num_blocks * block_size;
  const int64_t layer_floats = slots * spec.elements_per_token_per_layer;
  for (int64_t l = 0; l < spec.num_layers; ++l) {
    layers_.emplace_back(new float[layer_floats]);
    storage_.layers.push_back(layers_.back().get());
    num_bytes_ += layer_floats * sizeof(float);
  }
  if (keeps_token_ids) {
    token_ids_.reset(new int32_t[slots]);
    storage_.token_ids = token_ids_.get();
    num_bytes_ += slots * sizeof(int32_t);
    for (int64_t l = 0; l < spec.num_layers; ++l) {
      ln_stats_.emplace_back(new float[slots * 2]);
      storage_.ln_stats.push_back(ln_stats_.back().get());
      num_bytes_ += slots * 2 * sizeof(float);
    }
  }
  storage_.block_size = block_size;
}

size_t PagedKvCache::num_bytes() const { return num_bytes_; }

}  // namespace egmla
