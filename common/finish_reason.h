// Why a request stopped (DESIGN §4, §5: FinishReason).
#ifndef EGMLA_COMMON_FINISH_REASON_H_
#define EGMLA_COMMON_FINISH_REASON_H_

namespace egmla {

enum class FinishReason {
  kNone,          // still running
  kLength,        // max_tokens reached (also when the context limit binds at the same time)
  kStop,          // eos or a stop token id
  kStopSequence,  // a stop sequence matched on text
  kAborted,       // Abort, a cancelled call, a passed deadline, or drain timeout
  kContextLimit,  // the model's context is full
};

// "length", "stop", "stop_sequence", "aborted", "context_limit" (metric labels); "" for kNone.
inline const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kStopSequence:
      return "stop_sequence";
    case FinishReason::kAborted:
      return "aborted";
    case FinishReason::kContextLimit:
      return "context_limit";
    case FinishReason::kNone:
      break;
  }
  return "";
}

}  // namespace egmla

#endif  // EGMLA_COMMON_FINISH_REASON_H_
