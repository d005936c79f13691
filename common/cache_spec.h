// What one token stores in the KV cache (DESIGN §3.2, §4). model/ builds it from the config;
// kvcache/ sizes its pools from it and never sees the model.
#ifndef EGMLA_COMMON_CACHE_SPEC_H_
#define EGMLA_COMMON_CACHE_SPEC_H_

#include <cstdint>

#include "common/dtype.h"

namespace egmla {

struct CacheSpec {
  int64_t num_layers = 0;
  // Per token per layer: d_c + d_R (mla, eg_mla) or 2 * n_h * head_dim (mha).
  int64_t elements_per_token_per_layer = 0;
  DType dtype = DType::kF32;  // of the per-layer elements
  // Stored once per token outside the per-layer tensors (eg_mla: the 4-byte token id).
  int64_t extra_bytes_per_token = 0;

  // The paper's count: all layers, per-layer parts only.
  int64_t elements_per_token() const { return num_layers * elements_per_token_per_layer; }
  // Everything the cache holds per token.
  int64_t bytes_per_token() const {
    return elements_per_token() * static_cast<int64_t>(DTypeSize(dtype)) + extra_bytes_per_token;
  }
};

}  // namespace egmla

#endif  // EGMLA_COMMON_CACHE_SPEC_H_
