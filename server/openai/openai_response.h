// One request's answer in OpenAI's shapes (DESIGN §4): a whole completion or chat completion, or
// its stream as server-sent events ("data: {chunk}\n\n" ... "data: [DONE]\n\n"), built from the
// engine's outputs. Not thread-safe: one request's outputs arrive one at a time.
#ifndef EGMLA_SERVER_OPENAI_OPENAI_RESPONSE_H_
#define EGMLA_SERVER_OPENAI_OPENAI_RESPONSE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/request_output.h"
#include "server/openai/openai_request.h"
#include "tokenizer/tokenizer.h"

namespace egmla {

struct OpenAiAnswerSpec {
  OpenAiEndpoint endpoint = OpenAiEndpoint::kCompletions;
  std::string id;       // "cmpl-…" / "chatcmpl-…"
  std::string model;    // the served model's name
  int64_t created = 0;  // Unix seconds
  bool include_usage = false;
  std::optional<uint32_t> logprobs;  // per-token logprobs, with this many top ones
  // Completions' echo: the prompt's text and ids (its logprobs come with the final output).
  bool echo = false;
  std::string prompt_text;
  std::vector<int32_t> prompt_ids;
  const Tokenizer* tokenizer = nullptr;  // null: tokens are shown as "token_id:N"
};

// The OpenAI finish_reason: "stop" (eos, stop id, stop sequence), "length" (max_tokens, the
// context), "abort" (aborted: the client left, or the drain timed out; vLLM's word).
const char* OpenAiFinishReason(FinishReason reason);

class OpenAiAnswer {
 public:
  explicit OpenAiAnswer(OpenAiAnswerSpec spec);

  // Streaming: the events for `output` (none when it carries nothing to show); after a finished
  // output, the usage chunk when asked for and "data: [DONE]".
  std::string StreamEvents(const RequestOutput& output);
  // An error event and [DONE], for an error after the stream started.
  static std::string StreamError(const std::string& error_json);

  // Whole answer: collects `output`; the JSON body once the finished output was added.
  void Add(const RequestOutput& output);
  std::string Body() const;

 private:
  // The logprobs of `output`'s tokens in the endpoint's format (null when not asked for).
  nlohmann::ordered_json Logprobs(const RequestOutput& output);
  std::string TokenText(int32_t id) const;
  nlohmann::ordered_json Usage(const RequestOutput& final_output) const;
  nlohmann::ordered_json Chunk(nlohmann::ordered_json choice) const;

  const OpenAiAnswerSpec spec_;
  bool started_ = false;     // a stream's first chunk went out (echo, the assistant's role)
  int64_t text_offset_ = 0;  // completions' text_offset of the next token
  // Whole answers:
  std::string text_;
  nlohmann::ordered_json logprobs_;  // accumulated, in the endpoint's format
  std::optional<RequestOutput> final_;
};

// The JSON text of `value` (invalid UTF-8 in token texts becomes U+FFFD).
std::string DumpJson(const nlohmann::ordered_json& value);

}  // namespace egmla

#endif  // EGMLA_SERVER_OPENAI_OPENAI_RESPONSE_H_
