// One attention layer over a batch of sequences: the new tokens of every sequence attend to its
// cached tokens and to each other (causally), and their cache rows are written. Projections run
// over the whole batch at once (ops::Linear is batch-invariant); the attention core runs per
// sequence.
#ifndef EGMLA_MODEL_ATTENTION_H_
#define EGMLA_MODEL_ATTENTION_H_

#include <cstdint>
#include <span>

#include "model/config.h"
#include "model/gate.h"
#include "model/kv_view.h"
#include "model/weights.h"

namespace egmla {

struct AttentionBatch {
  const ModelConfig* config = nullptr;
  const LayerWeights* weights = nullptr;
  const Gates* gates = nullptr;  // eg_mla only
  int64_t layer = 0;
  const float* x = nullptr;            // [num_rows, hidden], normed input of the new tokens
  const int32_t* token_ids = nullptr;  // [num_rows]
  const int32_t* positions = nullptr;  // [num_rows]
  int64_t num_rows = 0;
  std::span<const SequenceSlice> sequences;  // their rows partition [0, num_rows)
  // eg_mla up_projected: generated positions attend grouped by id (EGMLA_DECODE.md §2), else
  // every position recomputes K and V.
  bool grouped_decode = true;
  float* out = nullptr;  // [num_rows, hidden]
};

// REQUIRES: each sequence's storage has room for num_total() rows; for eg_mla up_projected, the
// token-id table already holds the ids of every position up to num_total() (and the LayerNorm
// statistics table has room for them).
void MhaAttention(const AttentionBatch& batch);
// mla and eg_mla (both gate placements).
void LatentAttention(const AttentionBatch& batch);

}  // namespace egmla

#endif  // EGMLA_MODEL_ATTENTION_H_
