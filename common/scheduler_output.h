// The boundary structs of one engine step (DESIGN §1): the scheduler's decision, handed to the
// model runner, and the runner's result, handed back to the scheduler. Plain data; no storage.
#ifndef EGMLA_COMMON_SCHEDULER_OUTPUT_H_
#define EGMLA_COMMON_SCHEDULER_OUTPUT_H_

#include <cstdint>
#include <vector>

#include "common/ids.h"
#include "common/sampling_params.h"

namespace egmla {

// A request the runner has no state for: first scheduled, or resumed after preemption. The
// runner keeps this (and the tokens it samples) until the id appears in `finished_ids`.
struct NewRequestData {
  RequestId request_id = 0;
  std::vector<int32_t> prompt_ids;  // the whole prompt
  std::vector<int32_t> output_ids;  // tokens generated before a preemption; empty when new
  SamplingParams sampling;
  StoppingParams stopping;  // the runner masks eos and stop ids until min_tokens outputs
  OutputOptions output_options;
};

// One request's work in a step: compute `token_ids` at positions
// [num_computed_tokens, num_computed_tokens + token_ids.size()), reading the cache of the
// positions before and writing the new ones, all through the request's block table.
//
// The runner keeps each request's block table (as vLLM v1's CachedRequestData): it starts empty
// when the request arrives in new_requests, and every step appends `new_block_ids`, so a running
// request sends only the blocks allocated since its last step (a GPU runner updates its device
// tables by those). Blocks are never removed but by finished_ids.
struct ScheduledRequest {
  RequestId request_id = 0;
  std::vector<int32_t> token_ids;      // [num_new] tokens to compute this step
  int64_t num_computed_tokens = 0;     // tokens already in the cache (first new position)
  std::vector<BlockId> new_block_ids;  // appended to the table; then the table covers
                                       // ceil((num_computed + num_new) / block_size) blocks
  // True when this chunk ends at the last known token: the runner samples the next token.
  bool sample = false;
};

struct SchedulerOutput {
  std::vector<NewRequestData> new_requests;  // state for requests the runner has not seen
  std::vector<ScheduledRequest> requests;    // running requests first, then newly admitted
  // Requests whose runner state is to be dropped before this step: finished, aborted, preempted.
  std::vector<RequestId> finished_ids;
  int64_t num_batched_tokens = 0;  // sum of requests[i].token_ids.size()
};

struct TopLogprobs {
  std::vector<int32_t> token_ids;  // [n] most likely first
  std::vector<float> logprobs;     // [n]
};

// The runner's result for ScheduledRequest i of the same step.
struct SampledOutput {
  RequestId request_id = 0;
  int32_t token_id = -1;     // -1 when the request did not sample this step
  float logprob = 0.0f;      // of token_id, when return_logprobs
  TopLogprobs top_logprobs;  // when top_logprobs > 0
  // When return_prompt_logprobs: log p(prompt[p + 1] | prompt[0..p]) for each position p of this
  // chunk that a prompt token follows, in order, starting at p = prompt_logprobs_start (a whole
  // prompt yields T - 1 entries; a recomputed chunk after preemption repeats earlier ones).
  std::vector<float> prompt_logprobs;
  int64_t prompt_logprobs_start = 0;
};

struct ModelRunnerOutput {
  std::vector<SampledOutput> outputs;  // one per SchedulerOutput::requests, same order
};

}  // namespace egmla

#endif  // EGMLA_COMMON_SCHEDULER_OUTPUT_H_
