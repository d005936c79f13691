#include "runner/request_states.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <span>

#include "absl/strings/str_cat.h"
#include "runner/sampler.h"

namespace egmla {
namespace {

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

absl::Status RequestStates::Begin(const SchedulerOutput& step, int64_t block_size) {
  for (RequestId id : step.finished_ids) states_.erase(id);
  for (const NewRequestData& r : step.new_requests) {
    states_[r.request_id] = {.prompt_ids = r.prompt_ids,
                             .output_ids = r.output_ids,
                             .sampling = r.sampling,
                             .stopping = r.stopping,
                             .output_options = r.output_options};
  }
  for (const ScheduledRequest& s : step.requests) {
    const auto it = states_.find(s.request_id);
    if (it == states_.end()) {
      return absl::InternalError(absl::StrCat("model runner: unknown request ", s.request_id));
    }
    std::vector<BlockId>& table = it->second.block_table;
    table.insert(table.end(), s.new_block_ids.begin(), s.new_block_ids.end());
    const int64_t num_tokens = s.num_computed_tokens + static_cast<int64_t>(s.token_ids.size());
    if (static_cast<int64_t>(table.size()) * block_size < num_tokens) {
      return absl::InternalError(absl::StrCat("model runner: request ", s.request_id, " has ",
                                              table.size(), " blocks for ", num_tokens, " tokens"));
    }
  }
  return absl::OkStatus();
}

std::pair<int64_t, int64_t> RequestStates::PromptLogprobRange(const ScheduledRequest& s,
                                                              const CachedRequestState& state) {
  const int64_t first = s.num_computed_tokens;
  if (!state.output_options.return_prompt_logprobs) return {first, first};
  const int64_t end = std::min<int64_t>(first + static_cast<int64_t>(s.token_ids.size()),
                                        static_cast<int64_t>(state.prompt_ids.size()) - 1);
  return {first, std::max(first, end)};
}

void RequestStates::AppendLogitRows(const ScheduledRequest& s, const CachedRequestState& state,
                                    int64_t first_row, std::vector<int64_t>& logit_rows) {
  const auto [begin, end] = PromptLogprobRange(s, state);
  for (int64_t p = begin; p < end; ++p) logit_rows.push_back(first_row + p - begin);
  if (s.sample) logit_rows.push_back(first_row + static_cast<int64_t>(s.token_ids.size()) - 1);
}

ModelRunnerOutput RequestStates::PostprocessStep(const SchedulerOutput& step, const float* logits,
                                                 const std::vector<int64_t>& first_logit,
                                                 int64_t vocab) {
  ModelRunnerOutput output;
  output.outputs.resize(step.requests.size());
  for (size_t i = 0; i < step.requests.size(); ++i) {
    const ScheduledRequest& s = step.requests[i];
    Postprocess(s, at(s.request_id), logits + first_logit[i] * vocab, vocab, output.outputs[i]);
  }
  return output;
}

void RequestStates::GroupTokens(const ScheduledRequest& s, CachedRequestState& state) {
  if (state.groups.num_tokens() > s.num_computed_tokens) {
    state.groups.Truncate(s.num_computed_tokens);
  }
  for (int64_t p = state.groups.num_tokens(); p < s.num_computed_tokens; ++p) {
    const int32_t id = state.token_at(p);
    state.groups.Append(std::span(&id, 1));
  }
  state.groups.Append(s.token_ids);
}

void RequestStates::Postprocess(const ScheduledRequest& s, CachedRequestState& state,
                                const float* logits, int64_t vocab, SampledOutput& out) {
  out.request_id = s.request_id;
  if (state.output_options.return_prompt_logprobs) {
    const auto [begin, end] = PromptLogprobRange(s, state);
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
