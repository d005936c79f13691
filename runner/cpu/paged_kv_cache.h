// The storage of the paged KV cache (DESIGN §4): per layer one [num_blocks, block_size, width]
// tensor (latent and rope key contiguous per token for mla / eg_mla; K then V for mha), plus for
// eg_mla with the up-projected gate one [num_blocks, block_size] int32 token-id table and per
// layer a [num_blocks, block_size, 2] fp32 table of LayerNorm statistics. kvcache/ decides which
// blocks a request owns; this only holds the bytes.
#ifndef EGMLA_RUNNER_CPU_PAGED_KV_CACHE_H_
#define EGMLA_RUNNER_CPU_PAGED_KV_CACHE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/cache_spec.h"
#include "model/kv_view.h"

namespace egmla {

class PagedKvCache {
 public:
  // REQUIRES: spec.dtype is f32 (the CPU cache dtype). `keeps_token_ids`: eg_mla up_projected,
  // whose spec counts the ids and the statistics in extra_bytes_per_token.
  PagedKvCache(const CacheSpec& spec, bool keeps_token_ids, int64_t num_blocks, int64_t block_size);
  PagedKvCache(const PagedKvCache&) = delete;
  PagedKvCache& operator=(const PagedKvCache&) = delete;

  const KvStorage& storage() const { return storage_; }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return storage_.block_size; }
  size_t num_bytes() const;

 private:
  int64_t num_blocks_;
  // Left uninitialised: pages are only touched when tokens are written, so a large
  // --kv-cache-memory costs nothing up front. Every slot is written before it is read.
  std::vector<std::unique_ptr<float[]>> layers_;    // [num_layers][num_blocks * block_size * width]
  std::unique_ptr<int32_t[]> token_ids_;            // [num_blocks * block_size], or null
  std::vector<std::unique_ptr<float[]>> ln_stats_;  // [num_layers][num_blocks * block_size * 2]
  size_t num_bytes_ = 0;
  KvStorage storage_;
};

}  // namespace egmla

#endif  // EGMLA_RUNNER_CPU_PAGED_KV_CACHE_H_
