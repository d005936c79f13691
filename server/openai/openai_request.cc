#include "server/openai/openai_request.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace egmla {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

std::string TypeName(const Json& value) { return value.type_name(); }

// The request's fields, read with their types checked. A field sent as null counts as unset
// (clients send null for "the default").
class Fields {
 public:
  explicit Fields(const Json& root) : root_(root) {}

  const Json* Find(const char* name) const {
    auto it = root_.find(name);
    return it == root_.end() || it->is_null() ? nullptr : &*it;
  }

  absl::StatusOr<std::optional<double>> Number(const char* name) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) return Invalid(name, "expected a number, got " + TypeName(*v));
    return v->get<double>();
  }

  // An integer in [lo, hi].
  absl::StatusOr<std::optional<int64_t>> Integer(const char* name, int64_t lo, int64_t hi) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) return Invalid(name, "expected an integer, got " + TypeName(*v));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi)) {
      return Invalid(name, absl::StrCat("must be at most ", hi, ", got ", v->get<uint64_t>()));
    }
    const int64_t value = v->get<int64_t>();
    if (value < lo || value > hi) {
      return Invalid(name, absl::StrCat("must be in [", lo, ", ", hi, "], got ", value));
    }
    return value;
  }

  absl::StatusOr<bool> Bool(const char* name) const {
    const Json* v = Find(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return Invalid(name, "expected true or false, got " + TypeName(*v));
    return v->get<bool>();
  }

  absl::StatusOr<std::string> String(const char* name) const {
    const Json* v = Find(name);
    if (v == nullptr) return std::string();
    if (!v->is_string()) return Invalid(name, "expected a string, got " + TypeName(*v));
    return v->get<std::string>();
  }

 private:
  const Json& root_;
};

absl::StatusOr<Json> ParseBody(std::string_view body) {
  Json root = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError("body: not valid JSON (send a JSON object)");
  }
  if (!root.is_object()) return Invalid("body", "expected a JSON object, got " + TypeName(root));
  return root;
}

// A sampling value as a float: a number, finite in double, also in float (the range checks of
// request_validation.cc name what is out of range).
float ToFloat(double value) {
  if (std::isfinite(value) && std::fabs(value) > std::numeric_limits<float>::max()) {
    return value > 0 ? std::numeric_limits<float>::infinity()
                     : -std::numeric_limits<float>::infinity();
  }
  return static_cast<float>(value);
}

// The fields both endpoints share: sampling, stopping, streaming, the model.
absl::Status ReadCommon(const Fields& f, const char* max_tokens_field, OpenAiRequest& out) {
  v1::SamplingParams& s = *out.generate.mutable_sampling();
  v1::StoppingCriteria& stop = *out.generate.mutable_stopping();
  EGMLA_ASSIGN_OR_RETURN(out.model, f.String("model"));

  struct FloatField {
    const char* name;
    void (v1::SamplingParams::*set)(float);
  };
  for (const FloatField& field :
       {FloatField{"temperature", &v1::SamplingParams::set_temperature},
        FloatField{"top_p", &v1::SamplingParams::set_top_p},
        FloatField{"min_p", &v1::SamplingParams::set_min_p},
        FloatField{"repetition_penalty", &v1::SamplingParams::set_repetition_penalty},
        FloatField{"presence_penalty", &v1::SamplingParams::set_presence_penalty},
        FloatField{"frequency_penalty", &v1::SamplingParams::set_frequency_penalty}}) {
    EGMLA_ASSIGN_OR_RETURN(std::optional<double> value, f.Number(field.name));
    if (value) (s.*field.set)(ToFloat(*value));
  }
  // vLLM's top_k: -1 (and 0) mean off.
  EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> top_k, f.Integer("top_k", -1, INT32_MAX));
  if (top_k) s.set_top_k(static_cast<uint32_t>(std::max<int64_t>(*top_k, 0)));
  EGMLA_ASSIGN_OR_RETURN(
      std::optional<int64_t> seed,
      f.Integer("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
  if (seed) s.set_seed(static_cast<uint64_t>(*seed));

  EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> max_tokens,
                         f.Integer(max_tokens_field, 1, UINT32_MAX));
  if (max_tokens) stop.set_max_tokens(static_cast<uint32_t>(*max_tokens));
  EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> min_tokens, f.Integer("min_tokens", 0, UINT32_MAX));
  if (min_tokens) stop.set_min_tokens(static_cast<uint32_t>(*min_tokens));
  EGMLA_ASSIGN_OR_RETURN(bool ignore_eos, f.Bool("ignore_eos"));
  stop.set_ignore_eos(ignore_eos);
  if (const Json* v = f.Find("stop")) {
    if (v->is_string()) {
      stop.add_stop_sequences(v->get<std::string>());
    } else if (v->is_array()) {
      for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string()) {
          return Invalid(absl::StrCat("stop[", i, "]"),
                         "expected a string, got " + TypeName((*v)[i]));
        }
        stop.add_stop_sequences((*v)[i].get<std::string>());
      }
    } else {
      return Invalid("stop", "expected a string or a list of strings, got " + TypeName(*v));
    }
  }
  if (const Json* v = f.Find("stop_token_ids")) {
    if (!v->is_array()) return Invalid("stop_token_ids", "expected a list of token ids");
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_number_unsigned() || (*v)[i].get<uint64_t>() > UINT32_MAX) {
        return Invalid(absl::StrCat("stop_token_ids[", i, "]"), "expected a token id");
      }
      stop.add_stop_token_ids((*v)[i].get<uint32_t>());
    }
  }
  EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> priority,
                         f.Integer("priority", INT32_MIN, INT32_MAX));
  if (priority) out.generate.set_priority(static_cast<int32_t>(*priority));

  // One choice per request (DESIGN §4: n > 1 is planned, not there yet).
  for (const char* name : {"n", "best_of"}) {
    EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> count, f.Integer(name, 1, INT32_MAX));
    if (count && *count != 1) {
      return Invalid(name,
                     absl::StrCat("only 1 is supported (one choice per request), got ", *count));
    }
  }
  if (const Json* v = f.Find("logit_bias"); v != nullptr && !v->empty()) {
    return Invalid("logit_bias", "not supported by this server");
  }
  EGMLA_ASSIGN_OR_RETURN(out.stream, f.Bool("stream"));
  if (const Json* v = f.Find("stream_options")) {
    if (!v->is_object()) return Invalid("stream_options", "expected an object");
    Fields options(*v);
    absl::StatusOr<bool> usage = options.Bool("include_usage");
    if (!usage.ok()) return Invalid("stream_options.include_usage", "expected true or false");
    out.include_usage = *usage;
  }
  return absl::OkStatus();
}

// `prompt`: a string, a list of token ids, or a list holding one of those.
absl::Status ReadPrompt(const Json* prompt, v1::GenerateRequest& out) {
  if (prompt == nullptr) return Invalid("prompt", "required");
  const Json* p = prompt;
  if (p->is_array() && !p->empty() && ((*p)[0].is_string() || (*p)[0].is_array())) {
    if (p->size() > 1) {
      return Invalid(
          "prompt", absl::StrCat("a list of ", p->size(), " prompts; send one prompt per request"));
    }
    p = &(*p)[0];
  }
  if (p->is_string()) {
    out.set_text(p->get<std::string>());
    return absl::OkStatus();
  }
  if (!p->is_array()) {
    return Invalid("prompt", "expected a string or a list of token ids, got " + TypeName(*p));
  }
  v1::TokenIds* ids = out.mutable_token_ids();
  for (size_t i = 0; i < p->size(); ++i) {
    const Json& id = (*p)[i];
    if (!id.is_number_unsigned() || id.get<uint64_t>() > UINT32_MAX) {
      return Invalid(absl::StrCat("prompt[", i, "]"),
                     "expected a token id (a non-negative integer), got " +
                         (id.is_number() ? id.dump() : TypeName(id)));
    }
    ids->add_ids(id.get<uint32_t>());
  }
  return absl::OkStatus();
}

// A message's content: a string, or a list of text parts.
absl::StatusOr<std::string> ReadContent(const Json& message, size_t i) {
  const std::string field = absl::StrCat("messages[", i, "].content");
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) return Invalid(field, "expected a string or a list of parts");
  std::string text;
  for (size_t j = 0; j < it->size(); ++j) {
    const Json& part = (*it)[j];
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      return Invalid(absl::StrCat(field, "[", j, "]"), "only {\"type\": \"text\"} parts");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

}  // namespace

absl::StatusOr<OpenAiRequest> ParseCompletionRequest(std::string_view body) {
  EGMLA_ASSIGN_OR_RETURN(Json root, ParseBody(body));
  Fields f(root);
  OpenAiRequest out;
  out.endpoint = OpenAiEndpoint::kCompletions;
  EGMLA_RETURN_IF_ERROR(ReadPrompt(f.Find("prompt"), out.generate));
  EGMLA_RETURN_IF_ERROR(ReadCommon(f, "max_tokens", out));
  EGMLA_ASSIGN_OR_RETURN(out.echo, f.Bool("echo"));
  EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> logprobs, f.Integer("logprobs", 0, 20));
  if (logprobs) out.logprobs = static_cast<uint32_t>(*logprobs);
  EGMLA_ASSIGN_OR_RETURN(std::string suffix, f.String("suffix"));
  if (!suffix.empty()) return Invalid("suffix", "not supported by this server");
  return out;
}

absl::StatusOr<OpenAiRequest> ParseChatRequest(std::string_view body, const ChatFormat& format) {
  EGMLA_ASSIGN_OR_RETURN(Json root, ParseBody(body));
  Fields f(root);
  OpenAiRequest out;
  out.endpoint = OpenAiEndpoint::kChatCompletions;
  const Json* messages = f.Find("messages");
  if (messages == nullptr) return Invalid("messages", "required");
  if (!messages->is_array() || messages->empty()) {
    return Invalid("messages", "expected a non-empty list of messages");
  }
  std::vector<ChatMessage> conversation;
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    if (!m.is_object()) return Invalid(absl::StrCat("messages[", i, "]"), "expected an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return Invalid(absl::StrCat("messages[", i, "].role"), "required (a string)");
    }
    EGMLA_ASSIGN_OR_RETURN(std::string content, ReadContent(m, i));
    conversation.push_back({.role = role->get<std::string>(), .content = std::move(content)});
  }
  EGMLA_ASSIGN_OR_RETURN(std::string prompt, RenderChat(format, conversation));
  out.generate.set_text(std::move(prompt));
  // The newer name wins when both are sent.
  EGMLA_RETURN_IF_ERROR(
      ReadCommon(f, f.Find("max_completion_tokens") ? "max_completion_tokens" : "max_tokens", out));
  EGMLA_ASSIGN_OR_RETURN(bool logprobs, f.Bool("logprobs"));
  EGMLA_ASSIGN_OR_RETURN(std::optional<int64_t> top, f.Integer("top_logprobs", 0, 20));
  if (top && !logprobs) return Invalid("top_logprobs", "needs \"logprobs\": true");
  if (logprobs) out.logprobs = static_cast<uint32_t>(top.value_or(0));
  for (const char* unsupported : {"tools", "functions"}) {
    if (const Json* v = f.Find(unsupported); v != nullptr && !v->empty()) {
      return Invalid(unsupported, "tool calls are not supported by this server");
    }
  }
  if (const Json* v = f.Find("response_format")) {
    if (!v->is_object() || v->value("type", "text") != "text") {
      return Invalid("response_format", "only {\"type\": \"text\"} is supported");
    }
  }
  return out;
}

}  // namespace egmla
