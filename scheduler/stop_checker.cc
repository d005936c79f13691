#include "scheduler/stop_checker.h"

#include <algorithm>

namespace egmla {

FinishReason CheckStop(const Request& request, std::optional<int32_t>* matched_stop_token_id) {
  const StoppingParams& stopping = request.stopping;
  const int64_t num_output = request.num_output_tokens();
  const int32_t last = request.token_ids.back();
  if (num_output >= stopping.min_tokens) {
    if (!stopping.ignore_eos &&
        std::find(stopping.eos_token_ids.begin(), stopping.eos_token_ids.end(), last) !=
            stopping.eos_token_ids.end()) {
      return FinishReason::kStop;
    }
    if (std::find(stopping.stop_token_ids.begin(), stopping.stop_token_ids.end(), last) !=
        stopping.stop_token_ids.end()) {
      *matched_stop_token_id = last;
      return FinishReason::kStop;
    }
  }
  if (num_output >= stopping.max_tokens) return FinishReason::kLength;
  if (stopping.max_context_tokens > 0 && request.num_tokens() >= stopping.max_context_tokens) {
    return FinishReason::kContextLimit;
  }
  return FinishReason::kNone;
}

}  // namespace egmla
