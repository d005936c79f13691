// The EG-MLA embedding gate g = gate_up_proj_l(gate_embeddings[grp(l)][token]) (DESIGN §3.1).
// It depends only on (layer, token id), so table mode precomputes G_l = E_grp(l) · W_lᵀ
// ([vocab, D_gate] per layer, the paper's EG-MLA-A) and a gate is a row lookup; on-the-fly mode
// keeps only the embeddings and multiplies per token.
#ifndef EGMLA_MODEL_GATE_H_
#define EGMLA_MODEL_GATE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/weights.h"

namespace egmla {

enum class GateMode { kTable, kOnTheFly };
std::optional<GateMode> ParseGateMode(std::string_view name);  // "table" | "onthefly"

class Gates {
 public:
  // REQUIRES: config.is_eg_mla(); `weights` outlives this object.
  Gates(const ModelConfig& config, const ModelWeights& weights, GateMode mode);

  // out[i] = gate of `layer` for token_ids[i]. REQUIRES: ids in [0, vocab).
  void Compute(int64_t layer, std::span<const int32_t> token_ids,
               float* out) const;  // [token_ids.size(), D_gate]

  GateMode mode() const { return mode_; }

 private:
  const ModelConfig& config_;
  const ModelWeights& weights_;
  GateMode mode_;
  std::vector<std::vector<float>> tables_;  // per layer [vocab, D_gate], table mode only
};

}  // namespace egmla

#endif  // EGMLA_MODEL_GATE_H_
