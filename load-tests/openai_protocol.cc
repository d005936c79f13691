#include "load-tests/openai_protocol.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace egmla::loadgen::openai {
namespace {

constexpr size_t kMaxErrorBodyBytes = 200;

// A float flag value as the decimal the user wrote (0.7, not 0.699999988...).
double ShortestDouble(float value) {
  double out = value;
  (void)absl::SimpleAtod(absl::StrCat(value), &out);
  return out;
}

std::optional<int64_t> OptionalInt(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

absl::StatusOr<HostPort> ParseTarget(absl::string_view target) {
  absl::string_view rest = target;
  absl::ConsumePrefix(&rest, "http://");
  absl::ConsumeSuffix(&rest, "/");
  HostPort out;
  size_t colon = absl::string_view::npos;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close != absl::string_view::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      out.host = std::string(rest.substr(1, close - 1));
      colon = close + 1;
    }
  } else {
    colon = rest.rfind(':');
    if (colon != absl::string_view::npos && rest.substr(0, colon).find(':') == std::string::npos) {
      out.host = std::string(rest.substr(0, colon));
    } else {
      colon = absl::string_view::npos;
    }
  }
  uint32_t port = 0;
  if (colon == absl::string_view::npos || out.host.empty() ||
      !absl::SimpleAtoi(rest.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--target: '", target, "' is not HOST:PORT (the server's --http-port with --api openai)"));
  }
  out.port = absl::StrCat(port);
  return out;
}

std::string CompletionRequestBody(const RequestSpec& spec, const RequestParams& params,
                                  const std::string& model) {
  nlohmann::json body = nlohmann::json::object();
  body["model"] = model;
  if (spec.prompt.token_ids.empty()) {
    body["prompt"] = spec.prompt.text;
  } else {
    body["prompt"] = spec.prompt.token_ids;
  }
  body["max_tokens"] = spec.max_tokens;
  body["temperature"] = ShortestDouble(params.temperature);
  if (params.temperature > 0) body["seed"] = params.seed + static_cast<uint64_t>(spec.index);
  body["ignore_eos"] = params.ignore_eos;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  return body.dump();
}

std::string CompletionHttpRequest(absl::string_view host, absl::string_view api_key,
                                  absl::string_view request_id, absl::string_view body) {
  std::string out = absl::StrCat("POST /v1/completions HTTP/1.1\r\nHost: ", host,
                                 "\r\nContent-Type: application/json\r\n"
                                 "Accept: text/event-stream\r\nX-Request-Id: ",
                                 request_id, "\r\n");
  if (!api_key.empty()) absl::StrAppend(&out, "Authorization: Bearer ", api_key, "\r\n");
  absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n\r\n", body);
  return out;
}

void SseParser::Feed(absl::string_view bytes,
                     const std::function<void(const std::string&)>& on_data) {
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    if (newline == absl::string_view::npos) {
      line_.append(bytes.data(), bytes.size());
      return;
    }
    absl::string_view line = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    if (line_.empty()) {
      absl::ConsumeSuffix(&line, "\r");
      Line(line, on_data);
    } else {
      line_.append(line.data(), line.size());
      std::string whole = std::move(line_);
      line_.clear();
      absl::string_view view = whole;
      absl::ConsumeSuffix(&view, "\r");
      Line(view, on_data);
    }
  }
}

void SseParser::Line(absl::string_view line,
                     const std::function<void(const std::string&)>& on_data) {
  if (line.empty()) {
    if (has_data_) {
      const std::string data = std::move(data_);
      data_.clear();
      has_data_ = false;
      on_data(data);
    }
    return;
  }
  if (!absl::ConsumePrefix(&line, "data")) return;                // a comment or another field
  if (!line.empty() && !absl::ConsumePrefix(&line, ":")) return;  // "database: ..."
  absl::ConsumePrefix(&line, " ");
  if (has_data_) data_.push_back('\n');
  data_.append(line.data(), line.size());
  has_data_ = true;
}

absl::StatusOr<CompletionChunk> ParseCompletionChunk(absl::string_view data) {
  const nlohmann::json json = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("an event that is not a JSON object: '",
                                                   data.substr(0, kMaxErrorBodyBytes), "'"));
  }
  CompletionChunk chunk;
  if (const auto error = json.find("error"); error != json.end() && !error->is_null()) {
    const auto message = error->is_object() ? error->find("message") : error->end();
    chunk.error = message != error->end() && message->is_string() ? message->get<std::string>()
                                                                  : error->dump();
    return chunk;
  }
  if (const auto id = json.find("id"); id != json.end() && id->is_string()) chunk.id = *id;
  if (const auto choices = json.find("choices"); choices != json.end()) {
    if (!choices->is_array()) return absl::InvalidArgumentError("\"choices\" is not an array");
    chunk.num_choices = static_cast<int64_t>(choices->size());
    for (const nlohmann::json& choice : *choices) {
      if (!choice.is_object()) continue;
      const auto reason = choice.find("finish_reason");
      if (reason != choice.end() && reason->is_string()) chunk.finish_reason = *reason;
    }
  }
  if (const auto usage = json.find("usage"); usage != json.end() && !usage->is_null()) {
    if (!usage->is_object()) return absl::InvalidArgumentError("\"usage\" is not an object");
    chunk.prompt_tokens = OptionalInt(*usage, "prompt_tokens");
    chunk.completion_tokens = OptionalInt(*usage, "completion_tokens");
    if (!chunk.completion_tokens) {
      return absl::InvalidArgumentError("\"usage\" has no integer completion_tokens");
    }
  }
  return chunk;
}

std::string FinishReasonName(absl::string_view finish_reason) {
  std::string name = absl::AsciiStrToUpper(finish_reason);
  if (name == "ABORT" || name == "ABORTED") return "ABORTED";
  return name;
}

std::string HttpFailureName(int status) { return absl::StrCat("HTTP_", status); }

std::string HttpErrorMessage(absl::string_view body, absl::string_view reason) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    const auto error = json.find("error");
    if (error != json.end() && error->is_object()) {
      const auto message = error->find("message");
      if (message != error->end() && message->is_string()) return *message;
    }
  }
  std::string text(absl::StripAsciiWhitespace(body.substr(0, kMaxErrorBodyBytes)));
  return text.empty() ? std::string(reason) : text;
}

absl::StatusOr<ModelCard> FindModel(absl::string_view body, const std::string& model) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const auto data = json.is_object() ? json.find("data") : json.end();
  if (!json.is_object() || data == json.end() || !data->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("GET /v1/models: not a model list: '",
                                                   body.substr(0, kMaxErrorBodyBytes), "'"));
  }
  for (const nlohmann::json& entry : *data) {
    if (!entry.is_object()) continue;
    const auto id = entry.find("id");
    if (id == entry.end() || !id->is_string()) continue;
    if (!model.empty() && *id != model) continue;
    ModelCard card{.id = *id, .json = entry};
    card.max_model_len = OptionalInt(entry, "max_model_len");
    card.vocab_size = OptionalInt(entry, "vocab_size");
    return card;
  }
  return absl::NotFoundError(
      model.empty() ? std::string("GET /v1/models: the server lists no model")
                    : absl::StrCat("GET /v1/models: the server lists no model '", model, "'"));
}

}  // namespace egmla::loadgen::openai
