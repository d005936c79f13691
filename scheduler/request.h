// A request's state inside the scheduler (DESIGN §4): WAITING -> RUNNING -> FINISHED, or
// RUNNING -> PREEMPTED (back in the waiting queue) -> RUNNING. Plain data; the Scheduler owns
// every Request and is the only writer.
#ifndef EGMLA_SCHEDULER_REQUEST_H_
#define EGMLA_SCHEDULER_REQUEST_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/finish_reason.h"
#include "common/ids.h"
#include "common/sampling_params.h"

namespace egmla {

// What the engine hands to Scheduler::AddRequest.
struct NewRequest {
  RequestId request_id = 0;
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  StoppingParams stopping;
  OutputOptions output_options;
  int32_t priority = 0;  // lower is served first
};

enum class RequestStatus { kWaiting, kRunning, kPreempted, kFinished };

struct Request {
  RequestId id = 0;
  // The prompt followed by the output so far: the tokens the sequence holds.
  std::vector<int32_t> token_ids;
  int64_t num_prompt_tokens = 0;
  SamplingParams sampling;
  // stopping.max_context_tokens is the effective limit: the caller's, capped by the KV cache's
  // capacity (a request past it could never be scheduled).
  StoppingParams stopping;
  OutputOptions output_options;
  int32_t priority = 0;
  uint64_t arrival = 0;  // AddRequest order; a preempted request keeps it
  RequestStatus status = RequestStatus::kWaiting;
  // Leading tokens whose KV is in the cache; the next token to compute is token_ids[this].
  int64_t num_computed_tokens = 0;
  // Tokens found in the prefix cache at the first admission (reported as cached_tokens).
  int64_t num_cached_tokens = 0;
  // Prompt logprobs already handed out (a recomputation after preemption yields them again).
  int64_t num_prompt_logprobs_sent = 0;
  // Leading blocks of its table the runner has been sent (ScheduledRequest::new_block_ids); 0
  // while it holds no blocks.
  int64_t num_blocks_sent = 0;
  FinishReason finish_reason = FinishReason::kNone;
  std::optional<int32_t> matched_stop_token_id;  // the stop token id that ended it, not eos

  std::span<const int32_t> prompt_ids() const {
    return std::span<const int32_t>(token_ids).first(num_prompt_tokens);
  }
  std::span<const int32_t> output_ids() const {
    return std::span<const int32_t>(token_ids).subspan(num_prompt_tokens);
  }
  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  int64_t num_output_tokens() const { return num_tokens() - num_prompt_tokens; }
};

}  // namespace egmla

#endif  // EGMLA_SCHEDULER_REQUEST_H_
