#include "runner/cuda/cuda_model_runner.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "kernels/cuda/runtime/device.h"

namespace egmla::cuda {

CudaModelRunner::CudaModelRunner(std::unique_ptr<CudaModel> model, const CudaModelOptions& options,
                                 std::string device_name)
    : model_(std::move(model)), options_(options), device_name_(std::move(device_name)) {
  for (int64_t row = options_.max_num_seqs - 1; row >= 0; --row) {
    free_table_rows_.push_back(static_cast<int32_t>(row));
  }
}

ExecutorInfo CudaModelRunner::info() const {
  const bool eg_up = model_->config().is_eg_mla_up_projected();
  return {.device = "cuda",
          .device_name = device_name_,
          .dtype = "bf16",
          .kv_cache_dtype = "bf16",
          .eg_mla_decode = !eg_up                      ? ""
                           : model_->decodes_grouped() ? "grouped"
                                                       : "recompute"};
}

std::vector<std::pair<std::string, int64_t>> CudaModelRunner::device_memory_bytes() const {
  const DeviceMemoryUse m = model_->memory();
  return {{"weights", m.weights}, {"kv_cache", m.kv_cache}, {"workspace", m.workspace}};
}

absl::StatusOr<ModelRunnerOutput> CudaModelRunner::Execute(const SchedulerOutput& step) {
  if (failed_) return absl::InternalError("CUDA runner: the device failed earlier; restart");
  for (RequestId id : step.finished_ids) {
    if (const auto it = tables_.find(id); it != tables_.end()) {
      free_table_rows_.push_back(it->second.row);
      tables_.erase(it);
    }
  }
  EGMLA_RETURN_IF_ERROR(requests_.Begin(step, options_.block_size));
  CudaBatch batch;
  std::vector<int64_t> first_logit(step.requests.size() + 1, 0);  // per request, into logit_rows
  for (size_t i = 0; i < step.requests.size(); ++i) {
    const ScheduledRequest& s = step.requests[i];
    CachedRequestState& state = requests_.at(s.request_id);
    auto table = tables_.find(s.request_id);
    if (table == tables_.end()) {
      if (free_table_rows_.empty()) {
        return absl::InternalError(absl::StrCat("CUDA runner: more running requests than ",
                                                options_.max_num_seqs, " (--max-num-seqs)"));
      }
      table = tables_.emplace(s.request_id, DeviceTable{.row = free_table_rows_.back()}).first;
      free_table_rows_.pop_back();
    }
    const int64_t first_row = static_cast<int64_t>(batch.token_ids.size());
    const int64_t num_new = static_cast<int64_t>(s.token_ids.size());
    if (model_->decodes_grouped()) RequestStates::GroupTokens(s, state);
    batch.token_ids.insert(batch.token_ids.end(), s.token_ids.begin(), s.token_ids.end());
    batch.sequences.push_back({.first_row = first_row,
                               .num_new = num_new,
                               .num_past = s.num_computed_tokens,
                               .num_prompt = static_cast<int64_t>(state.prompt_ids.size()),
                               .table_row = table->second.row,
                               .block_table = state.block_table,
                               .num_blocks_on_device = table->second.num_on_device,
                               .groups = &state.groups});
    RequestStates::AppendLogitRows(s, state, first_row, batch.logit_rows);
    first_logit[i + 1] = static_cast<int64_t>(batch.logit_rows.size());
  }

  absl::StatusOr<std::vector<float>> logits = model_->Forward(batch);
  if (!logits.ok()) {
    if (!DeviceIsUsable()) {
      failed_ = true;
      return absl::InternalError(
          absl::StrCat("CUDA runner: the device is unusable after ", logits.status().message()));
    }
    return logits.status();
  }
  // The tables now hold every entry sent.
  for (const ScheduledRequest& s : step.requests) {
    tables_.at(s.request_id).num_on_device =
        static_cast<int64_t>(requests_.at(s.request_id).block_table.size());
  }
  const int64_t vocab = model_->config().vocab_size;
  return requests_.PostprocessStep(step, logits->data(), first_logit, vocab);
}

}  // namespace egmla::cuda
