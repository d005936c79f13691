// The OpenAI-compatible HTTP API (DESIGN §4, docs/api.md): the routes of --http-port over the
// engine the gRPC service uses, with its rules — one validation, the API key as
// `Authorization: Bearer`, the bounded queue (429), the drain (503).
//
//   POST /v1/completions        POST /v1/chat/completions (models with a chat_format)
//   GET  /v1/models, /v1/models/{model}                GET /health (200 ready, 503 otherwise)
//
// Thread-safe: Handle runs on the HTTP server's threads.
#ifndef EGMLA_SERVER_OPENAI_OPENAI_API_H_
#define EGMLA_SERVER_OPENAI_OPENAI_API_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/http/http_server.h"
#include "server/openai/chat_format.h"
#include "server/openai/openai_call.h"
#include "server/service_context.h"

namespace egmla {

struct OpenAiApiOptions {
  std::string model_name;                 // what /v1/models lists and requests may name
  std::optional<ChatFormat> chat_format;  // none: chat requests are refused
  // False while the server cannot serve (a failed device): /health says 503. Null: always.
  std::function<bool()> healthy;
  HttpRequestObserver observer;  // egmla_http_requests_total; may be empty
};

class OpenAiApi {
 public:
  // REQUIRES: `service` outlives every call of the handler and every request it submitted.
  OpenAiApi(ServiceContext* service, OpenAiApiOptions options);

  void Handle(const HttpRequest& request, std::shared_ptr<HttpResponder> responder) const;

  // The most body bytes a request these limits can accept may take (the HTTP server's limit).
  static size_t MaxBodyBytes(const ValidationLimits& limits);

 private:
  HttpResponse Models(const std::string& path) const;
  // Completions and chat: parses, validates and submits, or answers the refusal.
  void Generate(OpenAiEndpoint endpoint, const std::string& path, const HttpRequest& request,
                std::shared_ptr<HttpResponder> responder) const;
  // Answers at once and tells the observer.
  void Answer(const std::string& endpoint, HttpResponder& responder, HttpResponse response) const;

  ServiceContext* const service_;
  const OpenAiApiOptions options_;
  const int64_t created_;  // Unix seconds at start: /v1/models' `created`
};

}  // namespace egmla

#endif  // EGMLA_SERVER_OPENAI_OPENAI_API_H_
