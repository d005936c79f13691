// The EG-MLA embedding gate g = gate_up_proj_l(gate_embeddings[grp(l)][token]) (DESIGN §3.1).
// It depends only on (layer, token id), so table mode precomputes G_l = E_grp(l) · W_lᵀ
// ([vocab, D_gate] per layer, the paper's EG-MLA-A) and a gate is a row lookup; on-the-fly mode
// keeps only the embeddings and multiplies per token.
#ifndef EGMLA_MODEL_GATE_H_
#define EGMLA_MODEL_GATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/config.h"
#include "model/weights.h"

namespace egmla {

enum class GateMode { kTable, kOnTheFly };
std::optional<GateMode> ParseGateMode(std::string_view name);  // "table" | "onthefly"

// The one reading of --gate-mode, shared by egmla-server and `egmla`: "table" and "onthefly"
// name the mode; "auto" and "" choose the table when it takes at most a quarter of what the
// weights and the KV cache may use, all counted in fp32 bytes (the CPU model's dtype):
//   4 · GateTableBytes(config, kF32, kTable) <= fp32 weight bytes + kv_cache_memory_bytes,
// else onthefly. A config without gates (mha, mla) has a 0-byte table, so auto = table there.
// `kv_cache_memory_bytes` is the caller's KV-cache budget (--kv-cache-memory); 0 weighs the
// table against the weights alone. Errors: InvalidArgument naming --gate-mode and the accepted
// values.
// REQUIRES: kv_cache_memory_bytes >= 0.
absl::StatusOr<GateMode> ResolveGateMode(std::string_view flag, const ModelConfig& config,
                                         int64_t kv_cache_memory_bytes);

struct FreeFloats {  // std::free, for memory from aligned_alloc
  void operator()(float* p) const;
};

class Gates {
 public:
  // REQUIRES: config.is_eg_mla(); `weights` outlives this object.
  Gates(const ModelConfig& config, const ModelWeights& weights, GateMode mode);

  // out[i] = gate of `layer` for token_ids[i]. REQUIRES: ids in [0, vocab).
  void Compute(int64_t layer, std::span<const int32_t> token_ids,
               float* out) const;  // [token_ids.size(), D_gate]

  GateMode mode() const { return mode_; }
  // Table mode: the row Compute copies for `token_id` ([D_gate], valid as long as this object);
  // null on the fly. REQUIRES: token_id in [0, vocab).
  const float* TableRow(int64_t layer, int32_t token_id) const {
    return mode_ == GateMode::kTable ? tables_[layer].get() + token_id * config_.gate_dim()
                                     : nullptr;
  }

 private:
  const ModelConfig& config_;
  const ModelWeights& weights_;
  GateMode mode_;
  std::vector<std::unique_ptr<float[], FreeFloats>> tables_;  // per layer [vocab, D_gate], table
                                                              // mode only
};

}  // namespace egmla

#endif  // EGMLA_MODEL_GATE_H_
