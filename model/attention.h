// One attention layer over the new tokens of a sequence, reading and extending its cache.
#ifndef EGMLA_MODEL_ATTENTION_H_
#define EGMLA_MODEL_ATTENTION_H_

#include <cstdint>
#include <span>
#include <vector>

#include "model/config.h"
#include "model/gate.h"
#include "model/weights.h"

namespace egmla {

struct AttentionInputs {
  const ModelConfig* config;
  const LayerWeights* weights;
  const Gates* gates;  // eg_mla only
  int64_t layer;
  const float* x;    // [n, hidden], normed input of the new tokens
  int64_t num_new;   // n
  int64_t num_past;  // tokens already cached; new token i is at position num_past+i
  std::span<const int32_t> token_ids;  // [num_past + n]: every token of the sequence
  std::vector<float>* layer_cache;     // [num_past, per-layer width]; grown to num_past + n rows
  float* out;                          // [n, hidden]
};

void MhaAttention(const AttentionInputs& in);
// mla and eg_mla (both gate placements).
void LatentAttention(const AttentionInputs& in);

// Rows of `positions` for the new tokens: num_past, num_past+1, ...
std::vector<int32_t> NewPositions(int64_t num_past, int64_t num_new);

}  // namespace egmla

#endif  // EGMLA_MODEL_ATTENTION_H_
