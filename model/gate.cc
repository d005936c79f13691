#include "model/gate.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/ops.h"
#include "model/kv_size.h"
#include "model/tensor_names.h"

namespace egmla {

void FreeFloats::operator()(float* p) const { std::free(p); }

namespace {

// `n` floats on 2 MiB-aligned memory that the kernel is asked to back with huge pages before it
// is first touched: a gate table is hundreds of MB read one row per distinct id, so 4 KiB pages
// would cost a TLB miss per row.
std::unique_ptr<float[], FreeFloats> HugePageFloats(int64_t n) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t bytes =
      (static_cast<size_t>(n) * sizeof(float) + kHugePage - 1) / kHugePage * kHugePage;
  float* p = static_cast<float*>(std::aligned_alloc(kHugePage, bytes));
  if (p == nullptr) throw std::bad_alloc();
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without it the table works, more slowly
  return std::unique_ptr<float[], FreeFloats>(p);
}

}  // namespace

std::optional<GateMode> ParseGateMode(std::string_view name) {
  if (name == "table") return GateMode::kTable;
  if (name == "onthefly") return GateMode::kOnTheFly;
  return std::nullopt;
}

absl::StatusOr<GateMode> ResolveGateMode(std::string_view flag, const ModelConfig& config,
                                         int64_t kv_cache_memory_bytes) {
  if (std::optional<GateMode> mode = ParseGateMode(flag)) return *mode;
  if (!flag.empty() && flag != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("--gate-mode: '", std::string(flag), "' is not one of auto, table, onthefly"));
  }
  int64_t weight_bytes = 0;
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    weight_bytes += NumElements(spec.shape) * static_cast<int64_t>(sizeof(float));
  }
  const int64_t table_bytes = GateTableBytes(config, DType::kF32, GateMode::kTable);
  return table_bytes * 4 <= weight_bytes + kv_cache_memory_bytes ? GateMode::kTable
                                                                 : GateMode::kOnTheFly;
}

Gates::Gates(const ModelConfig& config, const ModelWeights& weights, GateMode mode)
    : config_(config), weights_(weights), mode_(mode) {
  if (mode_ != GateMode::kTable) return;
  const int64_t vocab = config.vocab_size, d_e = config.gate_embedding_dim, d = config.gate_dim();
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    float* table = tables_.emplace_back(HugePageFloats(vocab * d)).get();
    ops::LinearBulk(weights.gate_embedding(l / config.gate_layer_group_size),
                    weights.layer(l).gate_up_proj, table, vocab, d_e, d);
  }
}

void Gates::Compute(int64_t layer, std::span<const int32_t> token_ids, float* out) const {
  const int64_t d = config_.gate_dim(), d_e = config_.gate_embedding_dim;
  const int64_t n = static_cast<int64_t>(token_ids.size());
  if (mode_ == GateMode::kTable) {
    const float* table = tables_[layer].get();
    for (int64_t i = 0; i < n; ++i) {
      std::copy_n(table + token_ids[i] * d, d, out + i * d);
    }
    return;
  }
  const float* embedding = weights_.gate_embedding(layer / config_.gate_layer_group_size);
  std::vector<float> e(n * d_e);  // [n, d_e]
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(embedding + token_ids[i] * d_e, d_e, e.data() + i * d_e);
  }
  ops::Linear(e.data(), weights_.layer(layer).gate_up_proj, out, n, d_e, d);
}

}  // namespace egmla
