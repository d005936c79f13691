// The token-level stopping rules of DESIGN §4. Stop sequences on text are the engine's (it calls
// Scheduler::FinishRequest); everything here looks at token ids only.
#ifndef EGMLA_SCHEDULER_STOP_CHECKER_H_
#define EGMLA_SCHEDULER_STOP_CHECKER_H_

#include <cstdint>
#include <optional>

#include "common/finish_reason.h"
#include "scheduler/request.h"

namespace egmla {

// Whether `request` stops after its last output token, just appended; kNone to go on. In order:
// eos (unless ignore_eos) or a stop token id -> kStop, both masked until min_tokens outputs exist
// (the stopping token stays in the output; for a stop token id *matched_stop_token_id is set, for
// eos it is left empty); then max_tokens reached -> kLength; then prompt + output reaching
// stopping.max_context_tokens (when > 0) -> kContextLimit — so kLength wins when both bind.
// REQUIRES: request.num_output_tokens() >= 1.
FinishReason CheckStop(const Request& request, std::optional<int32_t>* matched_stop_token_id);

}  // namespace egmla

#endif  // EGMLA_SCHEDULER_STOP_CHECKER_H_
