#include "model/paged_kv_cache.h"

namespace egmla {

PagedKvCache::PagedKvCache(const CacheSpec& spec, bool keeps_token_ids, int64_t num_blocks,
                           int64_t block_size)
    : num_blocks_(num_blocks) {
  const int64_t slots = num_blocks * block_size;
  layers_.resize(spec.num_layers);
  for (std::vector<float>& layer : layers_) {
    layer.assign(slots * spec.elements_per_token_per_layer, 0.0f);
    storage_.layers.push_back(layer.data());
  }
  if (keeps_token_ids) {
    token_ids_.assign(slots, 0);
    storage_.token_ids = token_ids_.data();
  }
  storage_.block_size = block_size;
}

size_t PagedKvCache::num_bytes() const {
  size_t n = token_ids_.size() * sizeof(int32_t);
  for (const auto& layer : layers_) n += layer.size() * sizeof(float);
  return n;
}

}  // namespace egmla
