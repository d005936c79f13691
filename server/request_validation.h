// Turns a GenerateRequest into what the engine runs, or refuses it with the status DESIGN §5
// names: INVALID_ARGUMENT naming the field, FAILED_PRECONDITION for text features on a model
// without a tokenizer. Pure: no engine, no I/O.
#ifndef EGMLA_SERVER_REQUEST_VALIDATION_H_
#define EGMLA_SERVER_REQUEST_VALIDATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sampling_params.h"
#include "egmla/v1/generation.pb.h"
#include "tokenizer/tokenizer.h"

namespace egmla {

struct ValidationLimits {
  int64_t vocab_size = 0;
  int64_t max_context_tokens = 0;  // --max-context, or the model's
  int64_t default_max_tokens = 256;
  const Tokenizer* tokenizer = nullptr;  // the model's; null: text features are refused
  // Prepended to the ids of a text prompt (ModelConfig::text_prefix_token_id).
  std::optional<int32_t> text_prefix_token_id;
  // Text longer than this is refused before it is tokenized: max_context_tokens × the longest
  // token's bytes, as no text over it can fit (MaxTextBytes). 0 = no limit.
  int64_t max_text_bytes = 0;
};

struct ValidatedRequest {
  std::string request_id;  // the client's, or empty (the server makes one)
  std::vector<int32_t> prompt_ids;
  std::vector<std::string> stop_sequences;
  SamplingParams sampling;
  bool seed_given = false;  // else the server picks one
  StoppingParams stopping;  // max_tokens resolved; eos filled by the engine
  OutputOptions output_options;
  int32_t priority = 0;
};

inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr uint32_t kMaxTopLogprobs = 20;
inline constexpr size_t kMaxStopSequences = 16;
inline constexpr size_t kMaxStopSequenceBytes = 256;
// vLLM sets none; a bound keeps one request from making the sampler's stop check slow.
inline constexpr size_t kMaxStopTokenIds = 1024;

// The most bytes of text that `max_context_tokens` tokens of `max_token_bytes` each can hold.
int64_t MaxTextBytes(int64_t max_context_tokens, int64_t max_token_bytes);

// The size of the largest GenerateRequest these limits can accept (the text or the token ids of
// a prompt filling the context, the most stop sequences and stop ids, the longest request id),
// with room for the small fields: the gRPC receive limit.
int64_t MaxGenerateRequestBytes(const ValidationLimits& limits);

absl::StatusOr<ValidatedRequest> ValidateGenerateRequest(const v1::GenerateRequest& request,
                                                         const ValidationLimits& limits);

}  // namespace egmla

#endif  // EGMLA_SERVER_REQUEST_VALIDATION_H_
