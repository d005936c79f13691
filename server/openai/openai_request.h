// The JSON bodies of POST /v1/completions and /v1/chat/completions (DESIGN §4, OpenAI's API with
// the extensions vLLM accepts that our sampler has), turned into the GenerateRequest the gRPC
// API would carry, so that one validation (server/request_validation.h) judges both APIs. Pure:
// no engine, no I/O.
//
// Errors are INVALID_ARGUMENT with a message "FIELD: why" naming the request's field in OpenAI's
// terms (server/openai/openai_error.h turns it into OpenAI's error body). Fields we do not know
// are ignored, as vLLM does; a field we know with the wrong type or an unsupported value (n > 1,
// several prompts, tools) is refused.
#ifndef EGMLA_SERVER_OPENAI_OPENAI_REQUEST_H_
#define EGMLA_SERVER_OPENAI_OPENAI_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "egmla/v1/generation.pb.h"
#include "server/openai/chat_format.h"

namespace egmla {

enum class OpenAiEndpoint { kCompletions, kChatCompletions };

struct OpenAiRequest {
  OpenAiEndpoint endpoint = OpenAiEndpoint::kCompletions;
  std::string model;  // as sent; empty when not sent (the served model)
  // The prompt, sampling and stopping fields, as gRPC would carry them. For chat, `text` is the
  // conversation rendered in the model's chat format.
  v1::GenerateRequest generate;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // Completions: echo the prompt before the completion (with its logprobs when asked).
  bool echo = false;
  // Per-token logprobs: completions' `logprobs` (0-20: how many top ones), chat's `logprobs`
  // with `top_logprobs`. Unset: none.
  std::optional<uint32_t> logprobs;
};

// The body of /v1/completions. An unset max_tokens stays 0 in `generate` (the server's
// --default-max-tokens, as on gRPC); a max_tokens that is sent must be at least 1.
absl::StatusOr<OpenAiRequest> ParseCompletionRequest(std::string_view body);

// The body of /v1/chat/completions. REQUIRES: `format` is the model's chat format (the caller
// refuses models without one).
absl::StatusOr<OpenAiRequest> ParseChatRequest(std::string_view body, const ChatFormat& format);

}  // namespace egmla

#endif  // EGMLA_SERVER_OPENAI_OPENAI_REQUEST_H_
