#include "model/kv_size.h"

namespace egmla {

CacheSpec MakeCacheSpec(const ModelConfig& config, DType cache_dtype) {
  CacheSpec spec;
  spec.num_layers = config.num_hidden_layers;
  spec.dtype = cache_dtype;
  if (config.is_latent()) {
    spec.elements_per_token_per_layer = config.kv_lora_rank + config.qk_rope_head_dim;
  } else {
    spec.elements_per_token_per_layer = 2 * config.num_attention_heads * config.head_dim;
  }
  if (config.is_eg_mla_up_projected()) {
    // The token id, and per layer the LayerNorm statistics (μ, rstd) in fp32 whatever the cache
    // dtype (EGMLA_DECODE.md §2: the grouped decode reads them instead of recomputing).
    spec.extra_bytes_per_token =
        sizeof(int32_t) + config.num_hidden_layers * 2 * static_cast<int64_t>(sizeof(float));
  }
  return spec;
}

int64_t GateTableBytes(const ModelConfig& config, DType dtype, GateMode mode) {
  if (!config.is_eg_mla() || mode != GateMode::kTable) return 0;
  return config.num_hidden_layers * config.vocab_size * config.gate_dim() *
         static_cast<int64_t>(DTypeSize(dtype));
}

}  // namespace egmla
