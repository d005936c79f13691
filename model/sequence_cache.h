// The KV cache of one sequence, contiguous (the paged cache of kvcache/ replaces it in the
// serving path). It holds exactly what CacheSpec counts and nothing decompressed:
//   mha:    per layer [length, 2, n_h, head_dim]  (K then V)
//   mla:    per layer [length, d_c + d_R]         (normed latent c, then roped k_R)
//   eg_mla: per layer [length, d_c + d_R]; with the up-projected gate also the token ids [length]
//           once for all layers and per layer the LayerNorm statistics [length, 2] (K and V are
//           recomputed from c and the id, or absorbed per distinct id: EGMLA_DECODE.md).
#ifndef EGMLA_MODEL_SEQUENCE_CACHE_H_
#define EGMLA_MODEL_SEQUENCE_CACHE_H_

#include <cstdint>
#include <vector>

#include "model/token_groups.h"

namespace egmla {

struct SequenceCache {
  std::vector<std::vector<float>> layers;    // [num_layers][length * elements_per_token_per_layer]
  std::vector<int32_t> token_ids;            // [length]; eg_mla up_projected only
  std::vector<std::vector<float>> ln_stats;  // [num_layers][length * 2]; eg_mla up_projected only
  TokenGroups groups;                        // of token_ids; eg_mla up_projected only
  int64_t length = 0;                        // tokens cached
  int64_t num_prompt = 0;  // the tokens of the first Model::Forward call (SequenceSlice)
};

}  // namespace egmla

#endif  // EGMLA_MODEL_SEQUENCE_CACHE_H_
