// The OpenAI-compatible request path: each input is a JSON body given to
// server/openai/openai_request.h ParseCompletionRequest and ParseChatRequest (chatml and llama-3),
// then, as OpenAiApi::Generate does, to ValidateGenerateRequest with GPT-2's tokenizer (the chat
// format's end of turn added as a stop). Every error is INVALID_ARGUMENT and becomes, through
// server/openai/openai_error.h, a 400 whose JSON body parses back and names the field it blames.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "fuzz/request_checks.h"
#include "model/config.h"
#include "server/openai/openai_error.h"
#include "server/openai/openai_request.h"
#include "tokenizer/tokenizer_utf8.h"

namespace {

void CheckOpenAiError(const absl::Status& status, egmla::OpenAiEndpoint endpoint) {
  EGMLA_FUZZ_CHECK_ERROR(status, absl::StatusCode::kInvalidArgument);
  const egmla::OpenAiError error = egmla::ToOpenAiError(status, endpoint);
  EGMLA_FUZZ_CHECK(error.http_status == 400 && error.type == "invalid_request_error",
                   error.message);
  EGMLA_FUZZ_CHECK(!error.message.empty(), status.ToString());
  if (error.param) {
    EGMLA_FUZZ_CHECK(!error.param->empty() && error.message.starts_with(*error.param + ": "),
                     error.message);
  }
  const nlohmann::json body =
      nlohmann::json::parse(egmla::OpenAiErrorJson(error), nullptr, /*allow_exceptions=*/false);
  EGMLA_FUZZ_CHECK(!body.is_discarded() && body.contains("error") &&
                       body["error"].value("type", "") == error.type &&
                       body["error"]["message"].is_string(),
                   error.message);
}

void CheckParsed(const absl::StatusOr<egmla::OpenAiRequest>& parsed, egmla::OpenAiEndpoint endpoint,
                 const egmla::ChatFormat* format) {
  if (!parsed.ok()) return CheckOpenAiError(parsed.status(), endpoint);
  egmla::OpenAiRequest r = *parsed;
  EGMLA_FUZZ_CHECK(r.endpoint == endpoint, "endpoint");
  // JSON strings are UTF-8, so the text prompt (and a rendered chat) is too.
  if (r.generate.has_text()) EGMLA_FUZZ_CHECK(egmla::IsValidUtf8(r.generate.text()), "text");
  if (r.logprobs) {
    EGMLA_FUZZ_CHECK(*r.logprobs <= egmla::kMaxTopLogprobs, "logprobs");
    r.generate.set_return_logprobs(true);
    r.generate.set_top_logprobs(*r.logprobs);
    if (r.echo && !r.stream) r.generate.set_return_prompt_logprobs(true);
  }
  static const egmla::ValidationLimits limits =
      egmla::fuzz::Gpt2Limits(/*max_context=*/256, std::nullopt);
  absl::StatusOr<egmla::ValidatedRequest> valid =
      egmla::ValidateGenerateRequest(r.generate, limits);
  if (!valid.ok()) return CheckOpenAiError(valid.status(), endpoint);
  egmla::fuzz::CheckValidation(r.generate, limits, valid);
  if (format != nullptr) {
    if (std::optional<int32_t> id = limits.tokenizer->TokenId(format->end_of_turn)) {
      valid->stopping.stop_token_ids.push_back(*id);
    } else {
      valid->stop_sequences.push_back(format->end_of_turn);
    }
    auto matcher = egmla::StopSequenceMatcher::Create(valid->stop_sequences);
    EGMLA_FUZZ_CHECK(matcher.ok(), matcher.status().ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckParsed(egmla::ParseCompletionRequest(body), egmla::OpenAiEndpoint::kCompletions, nullptr);
  for (std::string_view name : egmla::kChatFormatNames) {
    absl::StatusOr<egmla::ChatFormat> format = egmla::FindChatFormat(name);
    EGMLA_FUZZ_CHECK(format.ok(), format.status().ToString());
    CheckParsed(egmla::ParseChatRequest(body, *format), egmla::OpenAiEndpoint::kChatCompletions,
                &*format);
  }
  return 0;
}
