// What a validated request must satisfy, checked by the request fuzz targets
// (generate_request_fuzz.cc, openai_request_fuzz.cc) against server/request_validation.h.
#ifndef EGMLA_FUZZ_REQUEST_CHECKS_H_
#define EGMLA_FUZZ_REQUEST_CHECKS_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/stop_sequences.h"
#include "fuzz/fuzz_util.h"
#include "server/request_validation.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla::fuzz {

// GPT-2's tokenizer.json from tests/data/tokenizers, loaded once.
inline const Tokenizer& Gpt2Tokenizer() {
  static const Tokenizer* const tokenizer = [] {
    auto loaded = BpeTokenizer::FromJson(ReadTestData("tokenizers/gpt2_tokenizer.json"),
                                         "gpt2_tokenizer.json");
    EGMLA_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
    return static_cast<const Tokenizer*>(loaded->release());
  }();
  return *tokenizer;
}

// The limits the server would derive for GPT-2 with a context of `max_context` tokens.
inline ValidationLimits Gpt2Limits(int64_t max_context, std::optional<int32_t> prefix) {
  const Tokenizer& tokenizer = Gpt2Tokenizer();
  return {.vocab_size = tokenizer.vocab_size(),
          .max_context_tokens = max_context,
          .default_max_tokens = 16,
          .tokenizer = &tokenizer,
          .text_prefix_token_id = prefix,
          .max_text_bytes = MaxTextBytes(max_context, tokenizer.max_token_bytes())};
}

// ValidateGenerateRequest's answer for `request`: an error of the codes DESIGN §5 names
// (FAILED_PRECONDITION only for text features without a tokenizer), or a request whose every
// field is in range; its stop sequences are ones the engine's matcher accepts.
inline void CheckValidation(const v1::GenerateRequest& request, const ValidationLimits& limits,
                            const absl::StatusOr<ValidatedRequest>& valid) {
  if (!valid.ok()) {
    if (limits.tokenizer != nullptr) {
      EGMLA_FUZZ_CHECK_ERROR(valid.status(), absl::StatusCode::kInvalidArgument);
    } else {
      EGMLA_FUZZ_CHECK_ERROR(valid.status(), absl::StatusCode::kInvalidArgument,
                             absl::StatusCode::kFailedPrecondition);
    }
    return;
  }
  const ValidatedRequest& r = *valid;
  EGMLA_FUZZ_CHECK(r.request_id.size() <= kMaxRequestIdBytes, "request_id");
  EGMLA_FUZZ_CHECK(!r.prompt_ids.empty(), "empty prompt");
  EGMLA_FUZZ_CHECK(static_cast<int64_t>(r.prompt_ids.size()) < limits.max_context_tokens,
                   absl::StrCat(r.prompt_ids.size(), " prompt tokens"));
  for (int32_t id : r.prompt_ids) {
    EGMLA_FUZZ_CHECK(id >= 0 && id < limits.vocab_size, absl::StrCat("prompt id ", id));
  }
  if (request.has_text()) {
    EGMLA_FUZZ_CHECK(limits.tokenizer != nullptr, "text without a tokenizer");
    absl::StatusOr<std::vector<int32_t>> ids = limits.tokenizer->Encode(request.text());
    EGMLA_FUZZ_CHECK(ids.ok(), ids.status().ToString());
    std::vector<int32_t> expected;
    if (limits.text_prefix_token_id) expected.push_back(*limits.text_prefix_token_id);
    expected.insert(expected.end(), ids->begin(), ids->end());
    EGMLA_FUZZ_CHECK(r.prompt_ids == expected, "prompt ids are not the text's");
  }
  const SamplingParams& s = r.sampling;
  EGMLA_FUZZ_CHECK(std::isfinite(s.temperature) && s.temperature >= 0 && s.temperature <= 100,
                   "temperature");
  EGMLA_FUZZ_CHECK(std::isfinite(s.top_p) && s.top_p > 0 && s.top_p <= 1, "top_p");
  EGMLA_FUZZ_CHECK(s.top_k >= 0, "top_k");
  EGMLA_FUZZ_CHECK(std::isfinite(s.min_p) && s.min_p >= 0 && s.min_p <= 1, "min_p");
  EGMLA_FUZZ_CHECK(
      std::isfinite(s.repetition_penalty) && s.repetition_penalty > 0 && s.repetition_penalty <= 10,
      "repetition_penalty");
  EGMLA_FUZZ_CHECK(std::fabs(s.presence_penalty) <= 2 && std::fabs(s.frequency_penalty) <= 2,
                   "penalties");
  EGMLA_FUZZ_CHECK(r.stopping.max_tokens > 0, "max_tokens");
  EGMLA_FUZZ_CHECK(r.stopping.min_tokens >= 0, "min_tokens");
  EGMLA_FUZZ_CHECK(r.stopping.stop_token_ids.size() <= kMaxStopTokenIds, "stop ids");
  for (int32_t id : r.stopping.stop_token_ids) {
    EGMLA_FUZZ_CHECK(id >= 0 && id < limits.vocab_size, absl::StrCat("stop id ", id));
  }
  EGMLA_FUZZ_CHECK(r.output_options.top_logprobs >= 0 &&
                       r.output_options.top_logprobs <= static_cast<int32_t>(kMaxTopLogprobs),
                   "top_logprobs");
  EGMLA_FUZZ_CHECK(r.stop_sequences.size() <= kMaxStopSequences, "stop sequences");
  for (const std::string& stop : r.stop_sequences) {
    EGMLA_FUZZ_CHECK(!stop.empty() && stop.size() <= kMaxStopSequenceBytes, stop);
  }
  absl::StatusOr<StopSequenceMatcher> matcher = StopSequenceMatcher::Create(r.stop_sequences);
  EGMLA_FUZZ_CHECK(matcher.ok(), matcher.status().ToString());
}

}  // namespace egmla::fuzz

#endif  // EGMLA_FUZZ_REQUEST_CHECKS_H_
