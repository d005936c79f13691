#include "server/openai/openai_error.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

// The field a message "FIELD: why" names, if it starts with one.
std::optional<std::string> LeadingField(std::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  for (char c : message.substr(0, colon)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == '[' || c == ']';
    if (!ok) return std::nullopt;
  }
  return std::string(message.substr(0, colon));
}

// A gRPC field path in the OpenAI request's terms.
std::string OpenAiField(const std::string& field, OpenAiEndpoint endpoint) {
  const bool chat = endpoint == OpenAiEndpoint::kChatCompletions;
  struct Rename {
    std::string_view from, to;
  };
  const Rename renames[] = {
      {"sampling.", ""},
      {"stopping.stop_sequences", "stop"},
      {"stopping.", ""},
      {"token_ids.ids", "prompt"},
      {"text", chat ? "messages" : "prompt"},
      {"input", chat ? "messages" : "prompt"},
      {"top_logprobs", chat ? "top_logprobs" : "logprobs"},
  };
  for (const Rename& r : renames) {
    if (field.compare(0, r.from.size(), r.from) == 0) {
      return absl::StrCat(std::string(r.to), field.substr(r.from.size()));
    }
  }
  return field;
}

}  // namespace

OpenAiError ToOpenAiError(const absl::Status& status, OpenAiEndpoint endpoint) {
  OpenAiError error;
  std::string message(status.message());
  if (std::optional<std::string> field = LeadingField(message)) {
    const std::string renamed = OpenAiField(*field, endpoint);
    message = absl::StrCat(renamed, message.substr(field->size()));
    error.param = renamed;
  }
  error.message = std::move(message);
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      error.http_status = 400;
      error.type = "invalid_request_error";
      break;
    case absl::StatusCode::kUnauthenticated:
      error.http_status = 401;
      error.type = "authentication_error";
      error.code = "invalid_api_key";
      break;
    case absl::StatusCode::kNotFound:
      error.http_status = 404;
      error.type = "invalid_request_error";
      break;
    case absl::StatusCode::kAlreadyExists:
      error.http_status = 409;
      error.type = "invalid_request_error";
      break;
    case absl::StatusCode::kResourceExhausted:
      error.http_status = 429;
      error.type = "rate_limit_error";
      error.code = "queue_full";
      break;
    case absl::StatusCode::kUnavailable:
      error.http_status = 503;
      error.type = "service_unavailable";
      break;
    default:
      error.http_status = 500;
      error.type = "internal_error";
      break;
  }
  return error;
}

std::string OpenAiErrorJson(const OpenAiError& error) {
  nlohmann::ordered_json body = {
      {"error",
       {{"message", error.message},
        {"type", error.type},
        {"param", error.param ? nlohmann::ordered_json(*error.param) : nullptr},
        {"code", error.code ? nlohmann::ordered_json(*error.code) : nullptr}}}};
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

HttpResponse OpenAiErrorResponse(const OpenAiError& error, bool close) {
  return {.status = error.http_status,
          .content_type = "application/json",
          .body = OpenAiErrorJson(error),
          .close = close};
}

}  // namespace egmla
