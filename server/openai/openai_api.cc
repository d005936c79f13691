#include "server/openai/openai_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/openai/openai_error.h"
#include "server/random_u64.h"
#include "server/request_validation.h"
#include "spdlog/spdlog.h"

namespace egmla {
namespace {

constexpr char kCompletionsPath[] = "/v1/completions";
constexpr char kChatPath[] = "/v1/chat/completions";
constexpr char kModelsPath[] = "/v1/models";
constexpr char kHealthPath[] = "/health";

const std::string* FindHeader(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

// The endpoint label of egmla_http_requests_total: a route, or "other" (bounded cardinality).
std::string EndpointLabel(const std::string& path) {
  for (const char* route : {kCompletionsPath, kChatPath, kModelsPath, kHealthPath}) {
    if (path == route) return route;
  }
  if (absl::StartsWith(path, "/v1/models/")) return kModelsPath;
  return "other";
}

HttpResponse NotFound(const std::string& path) {
  return OpenAiErrorResponse({.http_status = 404,
                              .message = absl::StrCat("no route ", path),
                              .type = "invalid_request_error",
                              .code = "not_found"});
}

HttpResponse MethodNotAllowed(const HttpRequest& request, const char* allow) {
  HttpResponse response = OpenAiErrorResponse(
      {.http_status = 405,
       .message = absl::StrCat(request.method, " ", request.path(), " is not allowed; use ", allow),
       .type = "invalid_request_error",
       .code = "method_not_allowed"});
  response.headers.emplace_back("Allow", allow);
  return response;
}

}  // namespace

OpenAiApi::OpenAiApi(ServiceContext* service, OpenAiApiOptions options)
    : service_(service), options_(std::move(options)), created_(absl::ToUnixSeconds(absl::Now())) {}

size_t OpenAiApi::MaxBodyBytes(const ValidationLimits& limits) {
  // JSON escapes text up to 6 bytes a byte (\u00XX) and writes an id in at most 11; chat
  // messages and the other fields fit in the megabyte on top.
  const int64_t prompt = std::max<int64_t>(6 * limits.max_text_bytes,
                                           12 * std::max<int64_t>(limits.max_context_tokens, 1));
  return static_cast<size_t>(prompt + (1 << 20));
}

void OpenAiApi::Answer(const std::string& endpoint, HttpResponder& responder,
                       HttpResponse response) const {
  // Counted first: a client that has its answer finds it counted.
  if (options_.observer) options_.observer(endpoint, response.status);
  responder.Respond(std::move(response));
}

void OpenAiApi::Handle(const HttpRequest& request, std::shared_ptr<HttpResponder> responder) const {
  const std::string path = request.path();
  const std::string endpoint = EndpointLabel(path);
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (path == kHealthPath) {
    if (!get) return Answer(endpoint, *responder, MethodNotAllowed(request, "GET, HEAD"));
    const bool ready = !service_->draining() && (!options_.healthy || options_.healthy());
    return Answer(endpoint, *responder,
                  {.status = ready ? 200 : 503,
                   .body = ready ? "ok\n" : "not ready: draining or failed\n",
                   .close = !ready});
  }
  if (!absl::StartsWith(path, "/v1/")) return Answer(endpoint, *responder, NotFound(path));
  if (absl::Status auth = service_->AuthenticateHeader(FindHeader(request, "authorization"));
      !auth.ok()) {
    service_->Rejected(auth.code());
    return Answer(endpoint, *responder,
                  OpenAiErrorResponse(ToOpenAiError(auth, OpenAiEndpoint::kCompletions)));
  }
  if (endpoint == kModelsPath) {
    if (!get) return Answer(endpoint, *responder, MethodNotAllowed(request, "GET, HEAD"));
    return Answer(endpoint, *responder, Models(path));
  }
  if (path == kCompletionsPath || path == kChatPath) {
    if (request.method != "POST")
      return Answer(endpoint, *responder, MethodNotAllowed(request, "POST"));
    return Generate(
        path == kChatPath ? OpenAiEndpoint::kChatCompletions : OpenAiEndpoint::kCompletions, path,
        request, std::move(responder));
  }
  Answer(endpoint, *responder, NotFound(path));
}

HttpResponse OpenAiApi::Models(const std::string& path) const {
  const nlohmann::ordered_json model = {
      {"id", options_.model_name},
      {"object", "model"},
      {"created", created_},
      {"owned_by", "egmla-serve"},
      {"root", options_.model_name},
      {"max_model_len", service_->limits().max_context_tokens},
      // Ours: the ids a token-id prompt may use (egmla-loadgen's random prompts).
      {"vocab_size", service_->limits().vocab_size}};
  if (path == kModelsPath) {
    return {.content_type = "application/json",
            .body = nlohmann::ordered_json{{"object", "list"}, {"data", {model}}}.dump()};
  }
  const std::string name = path.substr(std::string(kModelsPath).size() + 1);
  if (name != options_.model_name) {
    return OpenAiErrorResponse({.http_status = 404,
                                .message = absl::StrCat("model '", name, "' is not served here"),
                                .type = "invalid_request_error",
                                .param = "model",
                                .code = "model_not_found"});
  }
  return {.content_type = "application/json", .body = model.dump()};
}

void OpenAiApi::Generate(OpenAiEndpoint endpoint, const std::string& path,
                         const HttpRequest& request,
                         std::shared_ptr<HttpResponder> responder) const {
  const bool chat = endpoint == OpenAiEndpoint::kChatCompletions;
  auto refuse = [&](const absl::Status& status, bool close = false) {
    service_->Rejected(status.code());
    const OpenAiError error = ToOpenAiError(status, endpoint);
    spdlog::info("request refused: api=openai endpoint={} status={} message={}", path,
                 error.http_status, error.message);
    Answer(path, *responder, OpenAiErrorResponse(error, close));
  };
  if (service_->draining()) {
    // Connection: close, so that the client's next request opens a connection elsewhere.
    return refuse(absl::UnavailableError("the server is draining; retry on another replica"),
                  /*close=*/true);
  }
  if (chat && !options_.chat_format) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("the model '", options_.model_name,
                     "' has no chat format (config.json chat_format); use /v1/completions")));
  }
  absl::StatusOr<OpenAiRequest> parsed = chat
                                             ? ParseChatRequest(request.body, *options_.chat_format)
                                             : ParseCompletionRequest(request.body);
  if (!parsed.ok()) return refuse(parsed.status());
  OpenAiRequest& r = *parsed;
  if (!r.model.empty() && r.model != options_.model_name) {
    service_->Rejected(absl::StatusCode::kNotFound);
    return Answer(path, *responder,
                  OpenAiErrorResponse({.http_status = 404,
                                       .message = absl::StrCat("model '", r.model,
                                                               "' is not served here; this "
                                                               "server serves '",
                                                               options_.model_name, "'"),
                                       .type = "invalid_request_error",
                                       .param = "model",
                                       .code = "model_not_found"}));
  }
  if (r.logprobs) {
    r.generate.set_return_logprobs(true);
    r.generate.set_top_logprobs(*r.logprobs);
    // Whole answers echo the prompt's logprobs too (a stream's first chunk is sent before).
    if (r.echo && !r.stream) r.generate.set_return_prompt_logprobs(true);
  }
  absl::StatusOr<ValidatedRequest> valid = ValidateGenerateRequest(r.generate, service_->limits());
  if (!valid.ok()) return refuse(valid.status());
  const Tokenizer* tokenizer = service_->limits().tokenizer;
  if (chat) {
    // The reply ends at the format's end of turn: a stop token when the vocabulary has it whole.
    const std::string& end = options_.chat_format->end_of_turn;
    if (std::optional<int32_t> id = tokenizer->TokenId(end)) {
      valid->stopping.stop_token_ids.push_back(*id);
    } else {
      valid->stop_sequences.push_back(end);
    }
  }
  const std::string request_id =
      absl::StrFormat("%s-%016x", chat ? "chatcmpl" : "cmpl", RandomU64());
  if (absl::Status claimed = service_->Register(request_id); !claimed.ok()) return refuse(claimed);

  OpenAiAnswerSpec spec{.endpoint = endpoint,
                        .id = request_id,
                        .model = options_.model_name,
                        .created = absl::ToUnixSeconds(absl::Now()),
                        .include_usage = r.include_usage,
                        .logprobs = r.logprobs,
                        .echo = r.echo,
                        .tokenizer = tokenizer};
  if (r.echo) {
    spec.prompt_ids = valid->prompt_ids;
    if (r.generate.has_text()) {
      spec.prompt_text = r.generate.text();
    } else if (tokenizer != nullptr) {
      spec.prompt_text = tokenizer->Decode(valid->prompt_ids).value_or("");
    }
  }
  SamplingParams sampling = valid->sampling;
  if (!valid->seed_given) sampling.seed = RandomU64();
  auto call = std::make_shared<OpenAiCall>(service_, path, r.stream, std::move(spec),
                                           std::move(responder), options_.observer);
  OpenAiCall::Submit(call, {.prompt_ids = std::move(valid->prompt_ids),
                            .sampling = sampling,
                            .stopping = valid->stopping,
                            .output_options = valid->output_options,
                            .priority = valid->priority,
                            .stop_sequences = std::move(valid->stop_sequences)});
}

}  // namespace egmla
