// The OpenAI-compatible HTTP API as egmla-loadgen speaks it (--api openai): the request body of
// POST /v1/completions, the Server-Sent Events of its streamed answer, its error bodies and
// GET /v1/models. Plain functions on strings, so they are tested without a server; the sockets
// are in openai_client.h.
#ifndef EGMLA_LOAD_TESTS_OPENAI_PROTOCOL_H_
#define EGMLA_LOAD_TESTS_OPENAI_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "load-tests/request_generator.h"
#include "nlohmann/json.hpp"

namespace egmla::loadgen::openai {

// Failure keys of --api openai that are neither HTTP statuses nor gRPC-style client codes.
// An {"error": ...} event or a chunk that is not the JSON of a completion chunk, inside a 200
// response's event stream.
inline constexpr char kFailureStreamError[] = "STREAM_ERROR";

struct HostPort {
  std::string host;  // without brackets for IPv6
  std::string port;
};
// "HOST:PORT" or "[V6]:PORT"; an "http://" prefix and a trailing "/" are allowed. Errors name
// --target.
absl::StatusOr<HostPort> ParseTarget(absl::string_view target);

// The JSON body of a streamed POST /v1/completions:
//   {"model", "prompt": [ids] or "text", "max_tokens", "temperature", "ignore_eos",
//    "stream": true, "stream_options": {"include_usage": true}}
// plus "seed" (params.seed + spec.index, as the gRPC path) when the temperature is above 0.
std::string CompletionRequestBody(const RequestSpec& spec, const RequestParams& params,
                                  const std::string& model);

// The whole HTTP/1.1 request (head and body) of a POST /v1/completions: Host `host`, JSON
// content, "Accept: text/event-stream", "X-Request-Id: request_id", and
// "Authorization: Bearer api_key" unless the key is empty.
std::string CompletionHttpRequest(absl::string_view host, absl::string_view api_key,
                                  absl::string_view request_id, absl::string_view body);

// Splits a text/event-stream into events, incrementally: bytes may arrive cut anywhere. An
// event ends at a blank line; its data is its "data:" lines' values (one leading space
// dropped) joined by '\n'. Lines end with "\n" or "\r\n"; comments (":...") and other fields
// (event:, id:, retry:) are ignored, as are events without data.
class SseParser {
 public:
  // Calls `on_data` for each event completed by `bytes`.
  void Feed(absl::string_view bytes, const std::function<void(const std::string&)>& on_data);
  // Bytes of an event not yet ended (a stream that stops here was cut short).
  bool pending() const { return !line_.empty() || has_data_; }

 private:
  void Line(absl::string_view line, const std::function<void(const std::string&)>& on_data);

  std::string line_;  // the last line, not yet ended
  std::string data_;  // the current event's data
  bool has_data_ = false;
};

// One event's JSON: a text_completion chunk, the final usage chunk, or an error.
struct CompletionChunk {
  std::string id;
  int64_t num_choices = 0;    // entries of "choices" (0 in the usage chunk)
  std::string finish_reason;  // a choice's non-null finish_reason, as sent ("length", "stop")
  std::optional<int64_t> prompt_tokens;  // "usage", when not null
  std::optional<int64_t> completion_tokens;
  std::optional<std::string> error;  // {"error": {"message": ...}}: the message
};
// INVALID_ARGUMENT when `data` is not a JSON object, or "choices"/"usage" have the wrong type.
absl::StatusOr<CompletionChunk> ParseCompletionChunk(absl::string_view data);

// "length" -> "LENGTH", "stop" -> "STOP", "abort" -> "ABORTED" (a failure, as the gRPC path's
// Complete(ABORTED)); other reasons upper-cased.
std::string FinishReasonName(absl::string_view finish_reason);

// The failure key of a response with a status other than 200: "HTTP_429".
std::string HttpFailureName(int status);
// The message of an error body {"error": {"message": ...}}; else the body itself (at most 200
// bytes, whitespace trimmed), or the reason phrase when the body is empty.
std::string HttpErrorMessage(absl::string_view body, absl::string_view reason);

// A served model, from GET /v1/models.
struct ModelCard {
  std::string id;
  std::optional<int64_t> max_model_len;  // the context, when the server says (as vLLM)
  std::optional<int64_t> vocab_size;     // when the server says
  nlohmann::json json;                   // the entry as received
};
// The entry of `model` in a /v1/models body ({"object": "list", "data": [{"id", ...}]}); the
// first entry when `model` is empty. NOT_FOUND when there is none; INVALID_ARGUMENT when the
// body is not such a list.
absl::StatusOr<ModelCard> FindModel(absl::string_view body, const std::string& model);

}  // namespace egmla::loadgen::openai

#endif  // EGMLA_LOAD_TESTS_OPENAI_PROTOCOL_H_
