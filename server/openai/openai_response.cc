#include "server/openai/openai_response.h"

#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

using Json = nlohmann::ordered_json;

bool IsChat(const OpenAiAnswerSpec& spec) {
  return spec.endpoint == OpenAiEndpoint::kChatCompletions;
}

std::string Event(const Json& chunk) { return absl::StrCat("data: ", DumpJson(chunk), "\n\n"); }

constexpr char kDone[] = "data: [DONE]\n\n";

// The bytes of a token's text as a list of numbers (chat logprobs' `bytes`).
Json Bytes(const std::string& text) {
  Json bytes = Json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// Appends every element of the arrays in `more` to those of `into` (same keys).
void AppendLogprobs(Json& into, const Json& more) {
  if (more.is_null()) return;
  if (into.is_null()) {
    into = more;
    return;
  }
  for (auto it = more.begin(); it != more.end(); ++it) {
    for (const Json& item : it.value()) into[it.key()].push_back(item);
  }
}

}  // namespace

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const char* OpenAiFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
    case FinishReason::kStopSequence:
      return "stop";
    case FinishReason::kLength:
    case FinishReason::kContextLimit:
      return "length";
    case FinishReason::kAborted:
      return "abort";
    case FinishReason::kNone:
      break;
  }
  return nullptr;
}

OpenAiAnswer::OpenAiAnswer(OpenAiAnswerSpec spec) : spec_(std::move(spec)) {
  if (spec_.echo) text_offset_ = static_cast<int64_t>(spec_.prompt_text.size());
}

std::string OpenAiAnswer::TokenText(int32_t id) const {
  if (spec_.tokenizer == nullptr) return absl::StrCat("token_id:", id);
  return std::string(spec_.tokenizer->TokenBytes(id));
}

Json OpenAiAnswer::Logprobs(const RequestOutput& output) {
  if (!spec_.logprobs || output.logprobs.empty()) return nullptr;
  Json result;
  for (size_t i = 0; i < output.token_ids.size() && i < output.logprobs.size(); ++i) {
    const std::string text = TokenText(output.token_ids[i]);
    const TopLogprobs* top = i < output.top_logprobs.size() ? &output.top_logprobs[i] : nullptr;
    if (IsChat(spec_)) {
      Json tops = Json::array();
      for (size_t k = 0; top != nullptr && k < top->token_ids.size(); ++k) {
        const std::string t = TokenText(top->token_ids[k]);
        tops.push_back({{"token", t}, {"logprob", top->logprobs[k]}, {"bytes", Bytes(t)}});
      }
      result["content"].push_back({{"token", text},
                                   {"logprob", output.logprobs[i]},
                                   {"bytes", Bytes(text)},
                                   {"top_logprobs", std::move(tops)}});
    } else {
      Json tops = Json::object();
      for (size_t k = 0; top != nullptr && k < top->token_ids.size(); ++k) {
        tops[TokenText(top->token_ids[k])] = top->logprobs[k];
      }
      result["tokens"].push_back(text);
      result["token_logprobs"].push_back(output.logprobs[i]);
      result["top_logprobs"].push_back(std::move(tops));
      result["text_offset"].push_back(text_offset_);
      text_offset_ += static_cast<int64_t>(text.size());
    }
  }
  return result;
}

Json OpenAiAnswer::Usage(const RequestOutput& final_output) const {
  return {{"prompt_tokens", final_output.prompt_tokens},
          {"completion_tokens", final_output.completion_tokens},
          {"total_tokens", final_output.prompt_tokens + final_output.completion_tokens}};
}

Json OpenAiAnswer::Chunk(Json choice) const {
  Json chunk = {{"id", spec_.id},
                {"object", IsChat(spec_) ? "chat.completion.chunk" : "text_completion"},
                {"created", spec_.created},
                {"model", spec_.model},
                {"choices", Json::array({std::move(choice)})}};
  if (spec_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::string OpenAiAnswer::StreamEvents(const RequestOutput& output) {
  std::string events;
  const bool first = !started_;
  started_ = true;
  const char* finish = output.finished ? OpenAiFinishReason(output.finish_reason) : nullptr;
  const Json finish_json = finish ? Json(finish) : Json(nullptr);
  if (IsChat(spec_)) {
    // The first chunk names the role, as OpenAI's does.
    if (first) {
      events += Event(Chunk({{"index", 0},
                             {"delta", {{"role", "assistant"}, {"content", ""}}},
                             {"logprobs", nullptr},
                             {"finish_reason", nullptr}}));
    }
    if (!output.token_ids.empty() || !output.text.empty() || output.finished) {
      Json delta = Json::object();
      if (!output.text.empty()) delta["content"] = output.text;
      events += Event(Chunk({{"index", 0},
                             {"delta", std::move(delta)},
                             {"logprobs", Logprobs(output)},
                             {"finish_reason", finish_json}}));
    }
  } else {
    std::string text = output.text;
    if (first && spec_.echo) text = spec_.prompt_text + text;
    if (!output.token_ids.empty() || !text.empty() || output.finished) {
      events += Event(Chunk({{"index", 0},
                             {"text", std::move(text)},
                             {"logprobs", Logprobs(output)},
                             {"finish_reason", finish_json}}));
    }
  }
  if (output.finished) {
    if (spec_.include_usage) {
      Json usage = Chunk(nullptr);
      usage["choices"] = Json::array();
      usage["usage"] = Usage(output);
      events += Event(usage);
    }
    events += kDone;
  }
  return events;
}

std::string OpenAiAnswer::StreamError(const std::string& error_json) {
  return absl::StrCat("data: ", error_json, "\n\n", kDone);
}

void OpenAiAnswer::Add(const RequestOutput& output) {
  text_ += output.text;
  AppendLogprobs(logprobs_, Logprobs(output));
  if (output.finished) final_ = output;
}

std::string OpenAiAnswer::Body() const {
  const RequestOutput& last = final_ ? *final_ : RequestOutput();
  Json logprobs = logprobs_;
  if (spec_.logprobs && logprobs.is_null()) {
    logprobs = IsChat(spec_) ? Json{{"content", Json::array()}}
                             : Json{{"tokens", Json::array()},
                                    {"token_logprobs", Json::array()},
                                    {"top_logprobs", Json::array()},
                                    {"text_offset", Json::array()}};
  }
  Json choice = {{"index", 0}, {"logprobs", logprobs}};
  const char* finish = OpenAiFinishReason(last.finish_reason);
  choice["finish_reason"] = finish ? Json(finish) : Json(nullptr);
  if (IsChat(spec_)) {
    choice["message"] = {{"role", "assistant"}, {"content", text_}};
  } else if (spec_.echo) {
    choice["text"] = spec_.prompt_text + text_;
    if (spec_.logprobs) {
      // The prompt's tokens first: the first has no logprob (nothing predicts it).
      Json prompt = {{"tokens", Json::array()},
                     {"token_logprobs", Json::array()},
                     {"top_logprobs", Json::array()},
                     {"text_offset", Json::array()}};
      int64_t offset = 0;
      for (size_t i = 0; i < spec_.prompt_ids.size(); ++i) {
        const std::string text = TokenText(spec_.prompt_ids[i]);
        prompt["tokens"].push_back(text);
        prompt["token_logprobs"].push_back(i > 0 && i - 1 < last.prompt_logprobs.size()
                                               ? Json(last.prompt_logprobs[i - 1])
                                               : Json(nullptr));
        prompt["top_logprobs"].push_back(nullptr);
        prompt["text_offset"].push_back(offset);
        offset += static_cast<int64_t>(text.size());
      }
      AppendLogprobs(prompt, logprobs_);
      choice["logprobs"] = std::move(prompt);
    }
  } else {
    choice["text"] = text_;
  }
  Json body = {{"id", spec_.id},
               {"object", IsChat(spec_) ? "chat.completion" : "text_completion"},
               {"created", spec_.created},
               {"model", spec_.model},
               {"choices", Json::array({std::move(choice)})},
               {"usage", Usage(last)}};
  return DumpJson(body);
}

}  // namespace egmla
