// Where the cache rows of the sequences in a batch live. The paged cache (ModelRunner) and the
// contiguous cache of one sequence (SequenceCache, offline tools) are both read through this.
#ifndef EGMLA_MODEL_KV_VIEW_H_
#define EGMLA_MODEL_KV_VIEW_H_

#include <cstdint>
#include <vector>

#include "common/ids.h"
#include "model/token_groups.h"

namespace egmla {

struct KvStorage {
  // Per layer: paged [num_blocks, block_size, width], or contiguous [capacity, width]; width is
  // CacheSpec::elements_per_token_per_layer.
  std::vector<float*> layers;
  // [num_blocks, block_size] or [capacity]; null unless the config keeps token ids (eg_mla with
  // the up-projected gate).
  int32_t* token_ids = nullptr;
  // Per layer, beside token_ids: [num_blocks, block_size, 2] or [capacity, 2] fp32 (μ, rstd) of
  // the token's gated pre-LayerNorm vector (EGMLA_DECODE.md §2), written with its latent.
  std::vector<float*> ln_stats;
  int64_t block_size = 1;
};

// One sequence's share of a batch.
struct SequenceSlice {
  int64_t first_row = 0;  // row of its first new token in the batch
  int64_t num_new = 0;    // new tokens, at positions num_past .. num_past + num_new - 1
  int64_t num_past = 0;   // tokens already in the cache
  const KvStorage* storage = nullptr;
  // [ceil((num_past + num_new) / block_size)] block ids; null when the storage is contiguous.
  const BlockId* block_table = nullptr;
  // Positions below this hold prompt tokens. MLA (and EG-MLA with the latent gate) attends from
  // them in decompressed form (K and V up-projected once per chunk, attention in the head
  // dimension: cheaper for many queries) and from later positions absorbed (reads only the
  // latent: cheaper for one). The choice depends on the position alone, never on how the prompt
  // was chunked or batched, so results stay batch-invariant.
  int64_t num_prompt = 0;
  // eg_mla up_projected, grouped decode: the sequence's tokens grouped by id, covering at least
  // positions [0, num_total()). Null: built from the storage's token ids when needed (O(T)).
  const TokenGroups* groups = nullptr;

  int64_t num_total() const { return num_past + num_new; }
  // Index of position `pos`'s row within a layer's storage (and the token-id table).
  int64_t Slot(int64_t pos) const {
    if (block_table == nullptr) return pos;
    const int64_t bs = storage->block_size;
    return static_cast<int64_t>(block_table[pos / bs]) * bs + pos % bs;
  }
};

}  // namespace egmla

#endif  // EGMLA_MODEL_KV_VIEW_H_
