// What the scheduler reports to the engine after a step, per request: new tokens, logprobs, and
// the end. Plain data.
#ifndef EGMLA_SCHEDULER_REQUEST_EVENT_H_
#define EGMLA_SCHEDULER_REQUEST_EVENT_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "common/finish_reason.h"
#include "common/ids.h"
#include "common/scheduler_output.h"

namespace egmla {

struct RequestEvent {
  RequestId id = 0;
  std::vector<int32_t> new_token_ids;  // tokens produced this step (0 or 1 today)
  // The runner's output for this request (logprobs, top logprobs), with prompt_logprobs cut to
  // the positions not reported before (a recomputation after preemption yields them again) and
  // prompt_logprobs_start moved to match: every position is reported once, in order.
  SampledOutput sampled;
  bool finished = false;
  FinishReason reason = FinishReason::kNone;  // when finished
  int64_t num_prompt_tokens = 0;
  int64_t num_output_tokens = 0;                 // all outputs so far, the stopping token included
  int64_t num_cached_tokens = 0;                 // prefix-cache hit at the first admission
  std::optional<int32_t> matched_stop_token_id;  // the stop token id that ended it (not eos)
};

}  // namespace egmla

#endif  // EGMLA_SCHEDULER_REQUEST_EVENT_H_
