// OpenAI's error answers (DESIGN §4): an HTTP status and the body
// {"error": {"message", "type", "param", "code"}} that OpenAI's clients turn into their typed
// errors (BadRequestError, AuthenticationError, NotFoundError, RateLimitError, ...).
#ifndef EGMLA_SERVER_OPENAI_OPENAI_ERROR_H_
#define EGMLA_SERVER_OPENAI_OPENAI_ERROR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "server/http/http_server.h"
#include "server/openai/openai_request.h"

namespace egmla {

struct OpenAiError {
  int http_status = 500;
  std::string message;
  std::string type;                  // "invalid_request_error", "authentication_error", ...
  std::optional<std::string> param;  // the request field at fault
  std::optional<std::string> code;   // "model_not_found", "invalid_api_key", ...
};

// The answer to a refused request: the HTTP status of the gRPC code (INVALID_ARGUMENT and
// FAILED_PRECONDITION 400, UNAUTHENTICATED 401, NOT_FOUND 404, ALREADY_EXISTS 409,
// RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, others 500). A message "FIELD: why" names the field:
// gRPC's names (request_validation.h: "sampling.temperature", "token_ids.ids[3]", "text") become
// the OpenAI request's ("temperature", "prompt[3]", "prompt" or "messages") in the message and in
// `param`.
OpenAiError ToOpenAiError(const absl::Status& status, OpenAiEndpoint endpoint);

// {"error": {...}} as JSON text.
std::string OpenAiErrorJson(const OpenAiError& error);

// The whole HTTP answer; `close` asks the client to reconnect (a draining server).
HttpResponse OpenAiErrorResponse(const OpenAiError& error, bool close = false);

}  // namespace egmla

#endif  // EGMLA_SERVER_OPENAI_OPENAI_ERROR_H_
