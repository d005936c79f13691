// The per-request state every runner keeps between steps (vLLM v1's CachedRequestState): the
// tokens so far, the sampling parameters and the block table grown by new_block_ids; and the
// host-side post-processing of a request's logits rows (prompt logprobs, masking before
// min_tokens, sampling, logprobs), shared by the CPU and CUDA runners.
#ifndef EGMLA_RUNNER_REQUEST_STATES_H_
#define EGMLA_RUNNER_REQUEST_STATES_H_

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/ids.h"
#include "common/scheduler_output.h"
#include "model/token_groups.h"

namespace egmla {

struct CachedRequestState {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> output_ids;  // every token sampled so far
  SamplingParams sampling;
  StoppingParams stopping;
  OutputOptions output_options;
  std::vector<BlockId> block_table;  // [ceil(tokens in the cache / block_size)]
  // eg_mla up_projected, grouped decode: the tokens grouped by id, grown with the cache.
  TokenGroups groups;

  // The token at position `pos`. REQUIRES: pos < prompt + outputs.
  int32_t token_at(int64_t pos) const {
    const int64_t num_prompt = static_cast<int64_t>(prompt_ids.size());
    return pos < num_prompt ? prompt_ids[pos] : output_ids[pos - num_prompt];
  }
};

class RequestStates {
 public:
  // Applies a step's bookkeeping before it runs: drops finished_ids, adds new_requests, appends
  // new_block_ids. INTERNAL naming the request when one is scheduled but unknown, or its table
  // does not cover the step's positions (blocks of `block_size` tokens).
  absl::Status Begin(const SchedulerOutput& step, int64_t block_size);

  // REQUIRES: Begin accepted the step that schedules `request_id`.
  CachedRequestState& at(RequestId request_id) { return states_.at(request_id); }
  size_t size() const { return states_.size(); }

  // Positions p of the scheduled chunk whose logits give a prompt logprob (a prompt token follows
  // p): [first, end). Empty unless the request asked for prompt logprobs.
  static std::pair<int64_t, int64_t> PromptLogprobRange(const ScheduledRequest& scheduled,
                                                        const CachedRequestState& state);

  // The rows of `scheduled` (its first new token at batch row `first_row`) whose logits the host
  // needs, appended to `logit_rows` in the order Postprocess reads them: one per
  // PromptLogprobRange position, then the last row when it samples.
  static void AppendLogitRows(const ScheduledRequest& scheduled, const CachedRequestState& state,
                              int64_t first_row, std::vector<int64_t>& logit_rows);

  // Postprocess of every request of `step`: request i's rows start at row first_logit[i] of
  // `logits` ([logit rows, vocab]). REQUIRES: Begin accepted `step`.
  ModelRunnerOutput PostprocessStep(const SchedulerOutput& step, const float* logits,
                                    const std::vector<int64_t>& first_logit, int64_t vocab);

  // eg_mla grouped decode: grows state.groups to cover the step's positions (those a prefix hit
  // skipped, then the step's own), first dropping what a failed step left past
  // num_computed_tokens.
  static void GroupTokens(const ScheduledRequest& scheduled, CachedRequestState& state);

  // Fills `out` for `scheduled` from its logits rows, in the order the runner asked for them:
  // first one row per PromptLogprobRange position, then the last position's when it samples.
  // Appends the sampled token to the request's outputs.
  static void Postprocess(const ScheduledRequest& scheduled, CachedRequestState& state,
                          const float* logits,  // [rows of this request, vocab]
                          int64_t vocab, SampledOutput& out);

 private:
  std::unordered_map<RequestId, CachedRequestState> states_;
};

}  // namespace egmla

#endif  // EGMLA_RUNNER_REQUEST_STATES_H_
