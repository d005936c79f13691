// KV-cache accounting from a config (DESIGN §3.2): what `egmla kv-size` prints and what the
// cache pool is sized from.
#ifndef EGMLA_MODEL_KV_SIZE_H_
#define EGMLA_MODEL_KV_SIZE_H_

#include <cstdint>

#include "common/cache_spec.h"
#include "common/dtype.h"
#include "model/config.h"
#include "model/gate.h"

namespace egmla {

// Per token: mha 2·n_h·head_dim per layer; mla and eg_mla d_c + d_R per layer; eg_mla with the
// up-projected gate also keeps the 4-byte token id once per token (the latent placement applies
// the gate before caching and needs no id).
CacheSpec MakeCacheSpec(const ModelConfig& config, DType cache_dtype);

// Bytes of the precomputed gate tables G_l ([vocab, D_gate] per layer) at `dtype`; 0 on the fly
// and for mha / mla.
int64_t GateTableBytes(const ModelConfig& config, DType dtype, GateMode mode);

}  // namespace egmla

#endif  // EGMLA_MODEL_KV_SIZE_H_
