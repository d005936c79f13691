#include "model/model_runner.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "model/sampler.h"

namespace egmla {
namespace {

// Positions p of this chunk with a prompt token at p + 1: [first, end).
std::pair<int64_t, int64_t> PromptLogprobRange(const ScheduledRequest& s, int64_t prompt_len) {
  const int64_t first = s.num_computed_tokens;
  const int64_t end =
      std::min<int64_t>(first + static_cast<int64_t>(s.token_ids.size()), prompt_len - 1);
  return {first, std::max(first, end)};
}

TopLogprobs TopN(const std::vector<float>& logprobs, int32_t n) {
  std::vector<int32_t> ids(logprobs.size());
  std::iota(ids.begin(), ids.end(), 0);
  n = std::min<int32_t>(n, static_cast<int32_t>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    return logprobs[a] != logprobs[b] ? logprobs[a] > logprobs[b] : a < b;
  });
  TopLogprobs top;
  for (int32_t i = 0; i < n; ++i) {
    top.token_ids.push_back(ids[i]);
    top.logprobs.push_back(logprobs[ids[i]]);
  }
  return top;
}

// DESIGN §4: until min_tokens outputs exist, eos and the stop ids cannot be drawn. Logprobs stay
// those of the raw logits.
std::vector<float> MaskBeforeMinTokens(std::span<const float> logits, const StoppingParams& stop,
                                       int64_t num_outputs) {
  std::vector<float> masked(logits.begin(), logits.end());
  if (num_outputs >= stop.min_tokens) return masked;
  const int64_t vocab = static_cast<int64_t>(masked.size());
  auto mask = [&](int32_t id) {
    if (id >= 0 && id < vocab) masked[id] = -std::numeric_limits<float>::infinity();
  };
  if (!stop.ignore_eos) {
    for (int32_t id : stop.eos_token_ids) mask(id);
  }
  for (int32_t id : stop.stop_token_ids) mask(id);
  return masked;
}

}  // namespace

ModelRunner::ModelRunner(const Model& model, int64_t num_blocks, int64_t block_size)
    : model_(model), cache_(model.cache_spec(), model.keeps_token_ids(), num_blocks, block_size) {}

absl::StatusOr<ModelRunnerOutput> ModelRunner::Execute(const SchedulerOutput& step) {
  for (RequestId id : step.finished_ids) requests_.erase(id);
  for (const NewRequestData& r : step.new_requests) {
    requests_[r.request_id] = {r.prompt_ids, r.output_ids, r.sampling, r.stopping,
                               r.output_options};
  }

  BatchInput batch;
  std::vector<int64_t> first_logit(step.requests.size() + 1, 0);  // per request, into logit_rows
  for (size_t i = 0; i < step.requests.size(); ++i) {
    const ScheduledRequest& s = step.requests[i];
    auto it = requests_.find(s.request_id);
    if (it == requests_.end()) {
      return absl::InternalError(absl::StrCat("model runner: unknown request ", s.request_id));
    }
    const int64_t first_row = static_cast<int64_t>(batch.token_ids.size());
    const int64_t num_new = static_cast<int64_t>(s.token_ids.size());
    const int64_t blocks_needed =
        (s.num_computed_tokens + num_new + cache_.block_size() - 1) / cache_.block_size();
    if (static_cast<int64_t>(s.block_table.size()) < blocks_needed) {
      return absl::InternalError(absl::StrCat("model runner: request ", s.request_id, " has ",
                                              s.block_table.size(), " blocks for ",
                                              s.num_computed_tokens + num_new, " tokens"));
    }
    batch.token_ids.insert(batch.token_ids.end(), s.token_ids.begin(), s.token_ids.end());
    batch.sequences.push_back({.first_row = first_row,
                               .num_new = num_new,
                               .num_past = s.num_computed_tokens,
                               .storage = &cache_.storage(),
                               .block_table = s.block_table.data(),
                               .num_prompt = static_cast<int64_t>(it->second.prompt_ids.size())});
    const RequestState& state = it->second;
    if (state.output_options.return_prompt_logprobs) {
      const auto [begin, end] =
          PromptLogprobRange(s, static_cast<int64_t>(state.prompt_ids.size()));
      for (int64_t p = begin; p < end; ++p) batch.logit_rows.push_back(first_row + p - begin);
    }
    if (s.sample) batch.logit_rows.push_back(first_row + num_new - 1);
    first_logit[i + 1] = static_cast<int64_t>(batch.logit_rows.size());
  }

  EGMLA_ASSIGN_OR_RETURN(std::vector<float> logits, model_.ForwardBatch(batch));
  const int64_t vocab = model_.config().vocab_size;
  ModelRunnerOutput output;
  output.outputs.resize(step.requests.size());
  for (size_t i = 0; i < step.requests.size(); ++i) {
    const ScheduledRequest& s = step.requests[i];
    output.outputs[i].request_id = s.request_id;
    Postprocess(s, requests_.at(s.request_id), logits.data() + first_logit[i] * vocab,
                output.outputs[i]);
  }
  return output;
}

void ModelRunner::Postprocess(const ScheduledRequest& s, RequestState& state, const float* logits,
                              SampledOutput& out) {
  const int64_t vocab = model_.config().vocab_size;
  if (state.output_options.return_prompt_logprobs) {
    const auto [begin, end] = PromptLogprobRange(s, static_cast<int64_t>(state.prompt_ids.size()));
    out.prompt_logprobs_start = begin;
    for (int64_t p = begin; p < end; ++p, logits += vocab) {
      const std::vector<float> lp = LogSoftmax(std::span(logits, vocab));
      out.prompt_logprobs.push_back(lp[state.prompt_ids[p + 1]]);
    }
  }
  if (!s.sample) return;
  const std::span<const float> row(logits, vocab);
  out.token_id = SampleToken(
      MaskBeforeMinTokens(row, state.stopping, static_cast<int64_t>(state.output_ids.size())),
      state.sampling, state.prompt_ids, state.output_ids);
  state.output_ids.push_back(out.token_id);
  if (state.output_options.return_logprobs || state.output_options.top_logprobs > 0) {
    const std::vector<float> lp = LogSoftmax(row);
    out.logprob = lp[out.token_id];
    if (state.output_options.top_logprobs > 0) {
      out.top_logprobs = TopN(lp, state.output_options.top_logprobs);
    }
  }
}

}  // namespace egmla
