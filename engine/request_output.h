// What the engine tells a request's owner, and how (DESIGN §1: per-request sinks that never
// block the engine thread).
#ifndef EGMLA_ENGINE_REQUEST_OUTPUT_H_
#define EGMLA_ENGINE_REQUEST_OUTPUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/finish_reason.h"
#include "common/scheduler_output.h"

namespace egmla {

// One message for a request: the tokens of one engine step, and on the last one its summary.
struct RequestOutput {
  RequestId request_id = 0;
  // A refused request (queue full, prompt too long, ...) gets one message with this set and
  // nothing else.
  absl::Status error;

  std::vector<int32_t> token_ids;  // tokens produced this step (usually one)
  // Their text, with a tokenizer: never a split UTF-8 character, never the text of a stopping
  // token, cut before a matched stop sequence; text held back (a possible stop-sequence start or
  // an unfinished character) comes with a later output.
  std::string text;
  std::vector<float> logprobs;            // [token_ids.size()] when return_logprobs
  std::vector<TopLogprobs> top_logprobs;  // [token_ids.size()] when top_logprobs > 0

  bool finished = false;
  // Set when finished:
  FinishReason finish_reason = FinishReason::kNone;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;           // prompt tokens served from the prefix cache
  std::vector<float> prompt_logprobs;  // [prompt_tokens - 1] when asked for
  std::optional<int32_t> matched_stop_token_id;
  std::string matched_stop_sequence;  // when finish_reason is kStopSequence
  double queue_seconds = 0;           // arrival → first scheduled
  double time_to_first_token_seconds = 0;
  double total_seconds = 0;
  uint64_t seed = 0;
};

// Receives a request's outputs, in order, on the engine thread. Implementations must return at
// once (queue the message and wake a consumer); they are never called after a finished output
// or an error.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void Push(RequestOutput output) = 0;
};

}  // namespace egmla

#endif  // EGMLA_ENGINE_REQUEST_OUTPUT_H_
