#include "runner/cpu/cpu_model_runner.h"

#include "common/status.h"
#include "runner/cpu/cpu_model_name.h"

namespace egmla {

CpuModelRunner::CpuModelRunner(const Model& model, int64_t num_blocks, int64_t block_size)
    : model_(model), cache_(model.cache_spec(), model.keeps_token_ids(), num_blocks, block_size) {}

ExecutorInfo CpuModelRunner::info() const {
  const ModelConfig& c = model_.config();
  const bool eg_up = c.is_eg_mla_up_projected();
  return {.device = "cpu",
          .device_name = CpuModelName(),
          .dtype = "f32",
          .kv_cache_dtype = "f32",
          .eg_mla_decode =
              eg_up ? std::string(EgMlaDecodeName(model_.options().eg_mla_decode)) : std::string()};
}

absl::StatusOr<ModelRunnerOutput> CpuModelRunner::Execute(const SchedulerOutput& step) {
  EGMLA_RETURN_IF_ERROR(requests_.Begin(step, cache_.block_size()));

  // The grouped decode reads each sequence's tokens grouped by id; kept incrementally here.
  const bool groups_tokens =
      model_.keeps_token_ids() && model_.options().eg_mla_decode == EgMlaDecode::kGrouped;
  BatchInput batch;
  std::vector<int64_t> first_logit(step.requests.size() + 1, 0);  // per request, into logit_rows
  for (size_t i = 0; i < step.requests.size(); ++i) {
    const ScheduledRequest& s = step.requests[i];
    CachedRequestState& state = requests_.at(s.request_id);
    const int64_t first_row = static_cast<int64_t>(batch.token_ids.size());
    const int64_t num_new = static_cast<int64_t>(s.token_ids.size());
    if (groups_tokens) RequestStates::GroupTokens(s, state);
    batch.token_ids.insert(batch.token_ids.end(), s.token_ids.begin(), s.token_ids.end());
    batch.sequences.push_back({.first_row = first_row,
                               .num_new = num_new,
                               .num_past = s.num_computed_tokens,
                               .storage = &cache_.storage(),
                               .block_table = state.block_table.data(),
                               .num_prompt = static_cast<int64_t>(state.prompt_ids.size()),
                               .groups = groups_tokens ? &state.groups : nullptr});
    RequestStates::AppendLogitRows(s, state, first_row, batch.logit_rows);
    first_logit[i + 1] = static_cast<int64_t>(batch.logit_rows.size());
  }

  EGMLA_ASSIGN_OR_RETURN(std::vector<float> logits, model_.ForwardBatch(batch));
  const int64_t vocab = model_.config().vocab_size;
  return requests_.PostprocessStep(step, logits.data(), first_logit, vocab);
}

}  // namespace egmla
