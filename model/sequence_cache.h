// The KV cache of one sequence, contiguous (the paged cache of kvcache/ replaces it in the
// serving path). It holds exactly what CacheSpec counts and nothing decompressed:
//   mha:    per layer [length, 2, n_h, head_dim]  (K then V)
//   mla:    per layer [length, d_c + d_R]         (normed latent c, then roped k_R)
//   eg_mla: per layer [length, d_c + d_R], plus the token ids [length] once for all layers when
//           the gate is up-projected (K and V are recomputed from c and the id at every step).
#ifndef EGMLA_MODEL_SEQUENCE_CACHE_H_
#define EGMLA_MODEL_SEQUENCE_CACHE_H_

#include <cstdint>
#include <vector>

namespace egmla {

struct SequenceCache {
  std::vector<std::vector<float>> layers;  // [num_layers][length * elements_per_token_per_layer]
  std::vector<int32_t> token_ids;          // [length]; eg_mla up_projected only
  int64_t length = 0;                      // tokens cached
  int64_t num_prompt = 0;  // the tokens of the first Model::Forward call (SequenceSlice)
};

}  // namespace egmla

#endif  // EGMLA_MODEL_SEQUENCE_CACHE_H_
