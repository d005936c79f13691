#include "server/request_validation.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// A float sampling field: finite and within [lo, hi] (lo exclusive when `open_low`).
absl::Status CheckRange(const std::string& field, float value, float lo, float hi,
                        bool open_low = false) {
  const bool low_ok = open_low ? value > lo : value >= lo;
  if (!std::isfinite(value) || !low_ok || value > hi) {
    return Invalid(field, absl::StrCat("must be a finite number in ", open_low ? "(" : "[", lo,
                                       ", ", hi, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status ReadSampling(const v1::SamplingParams& s, ValidatedRequest& out) {
  SamplingParams& p = out.sampling;
  if (s.has_temperature()) {
    if (auto st = CheckRange("sampling.temperature", s.temperature(), 0, 100); !st.ok()) return st;
    p.temperature = s.temperature();
  }
  if (s.has_top_p()) {
    if (auto st = CheckRange("sampling.top_p", s.top_p(), 0, 1, true); !st.ok()) return st;
    p.top_p = s.top_p();
  }
  if (s.has_top_k()) {
    if (s.top_k() > static_cast<uint32_t>(INT32_MAX)) {
      return Invalid("sampling.top_k", absl::StrCat("too large: ", s.top_k()));
    }
    p.top_k = static_cast<int32_t>(s.top_k());
  }
  if (s.has_min_p()) {
    if (auto st = CheckRange("sampling.min_p", s.min_p(), 0, 1); !st.ok()) return st;
    p.min_p = s.min_p();
  }
  if (s.has_repetition_penalty()) {
    auto st = CheckRange("sampling.repetition_penalty", s.repetition_penalty(), 0, 10, true);
    if (!st.ok()) return st;
    p.repetition_penalty = s.repetition_penalty();
  }
  if (s.has_presence_penalty()) {
    auto st = CheckRange("sampling.presence_penalty", s.presence_penalty(), -2, 2);
    if (!st.ok()) return st;
    p.presence_penalty = s.presence_penalty();
  }
  if (s.has_frequency_penalty()) {
    auto st = CheckRange("sampling.frequency_penalty", s.frequency_penalty(), -2, 2);
    if (!st.ok()) return st;
    p.frequency_penalty = s.frequency_penalty();
  }
  if (s.has_seed()) {
    p.seed = s.seed();
    out.seed_given = true;
  }
  return absl::OkStatus();
}

absl::Status ReadStopping(const v1::StoppingCriteria& s, const ValidationLimits& limits,
                          ValidatedRequest& out) {
  if (s.stop_sequences_size() > 0) {
    if (s.stop_sequences_size() > static_cast<int>(kMaxStopSequences)) {
      return Invalid(
          "stopping.stop_sequences",
          absl::StrCat("at most ", kMaxStopSequences, " allowed, got ", s.stop_sequences_size()));
    }
    for (int i = 0; i < s.stop_sequences_size(); ++i) {
      const std::string& seq = s.stop_sequences(i);
      if (seq.empty() || seq.size() > kMaxStopSequenceBytes) {
        return Invalid(
            absl::StrCat("stopping.stop_sequences[", i, "]"),
            absl::StrCat("must be 1 to ", kMaxStopSequenceBytes, " bytes, got ", seq.size()));
      }
    }
    if (limits.tokenizer == nullptr) {
      return absl::FailedPreconditionError(
          "stopping.stop_sequences: the model has no tokenizer, so text cannot be matched");
    }
    out.stop_sequences.assign(s.stop_sequences().begin(), s.stop_sequences().end());
  }
  StoppingParams& p = out.stopping;
  p.max_tokens = s.max_tokens() > 0 ? s.max_tokens() : limits.default_max_tokens;
  p.min_tokens = s.min_tokens();
  if (s.stop_token_ids_size() > static_cast<int>(kMaxStopTokenIds)) {
    return Invalid(
        "stopping.stop_token_ids",
        absl::StrCat("at most ", kMaxStopTokenIds, " allowed, got ", s.stop_token_ids_size()));
  }
  for (int i = 0; i < s.stop_token_ids_size(); ++i) {
    if (s.stop_token_ids(i) >= static_cast<uint64_t>(limits.vocab_size)) {
      return Invalid(absl::StrCat("stopping.stop_token_ids[", i, "]"),
                     absl::StrCat("token id ", s.stop_token_ids(i),
                                  " is outside the vocabulary [0, ", limits.vocab_size, ")"));
    }
    p.stop_token_ids.push_back(static_cast<int32_t>(s.stop_token_ids(i)));
  }
  p.ignore_eos = s.ignore_eos();
  // max_context_tokens is the engine's to set (Engine::max_context_tokens()).
  return absl::OkStatus();
}

}  // namespace

int64_t MaxTextBytes(int64_t max_context_tokens, int64_t max_token_bytes) {
  return std::max<int64_t>(max_context_tokens, 1) * std::max<int64_t>(max_token_bytes, 1);
}

int64_t MaxGenerateRequestBytes(const ValidationLimits& limits) {
  // A uint32 field costs at most 1 tag byte + 5 value bytes (packed or not); a string field at
  // most 1 tag byte + 5 length bytes + its bytes.
  constexpr int64_t kPerId = 6;
  constexpr int64_t kPerString = 6;
  const int64_t prompt = std::max(limits.max_text_bytes + kPerString,
                                  std::max<int64_t>(limits.max_context_tokens, 1) * kPerId);
  const int64_t stops = static_cast<int64_t>(kMaxStopSequences) *
                            (static_cast<int64_t>(kMaxStopSequenceBytes) + kPerString) +
                        static_cast<int64_t>(kMaxStopTokenIds) * kPerId;
  const int64_t small_fields = 4096;  // request id (128 bytes), sampling, flags, nesting
  return prompt + stops + small_fields;
}

absl::StatusOr<ValidatedRequest> ValidateGenerateRequest(const v1::GenerateRequest& request,
                                                         const ValidationLimits& limits) {
  ValidatedRequest out;
  if (request.request_id().size() > kMaxRequestIdBytes) {
    return Invalid("request_id", absl::StrCat("at most ", kMaxRequestIdBytes, " bytes, got ",
                                              request.request_id().size()));
  }
  out.request_id = request.request_id();

  std::string prompt_field = "token_ids.ids";
  switch (request.input_case()) {
    case v1::GenerateRequest::kText: {
      if (limits.tokenizer == nullptr) {
        return absl::FailedPreconditionError(
            "text: the model has no tokenizer; send token_ids instead");
      }
      if (request.text().empty()) return Invalid("text", "empty: the prompt needs some text");
      if (limits.max_text_bytes > 0 &&
          static_cast<int64_t>(request.text().size()) > limits.max_text_bytes) {
        return Invalid("text",
                       absl::StrCat(request.text().size(), " bytes cannot fit in the context of ",
                                    limits.max_context_tokens, " tokens (at most ",
                                    limits.max_text_bytes, " bytes)"));
      }
      absl::StatusOr<std::vector<int32_t>> ids = limits.tokenizer->Encode(request.text());
      if (!ids.ok()) return Invalid("text", std::string(ids.status().message()));
      if (limits.text_prefix_token_id) out.prompt_ids.push_back(*limits.text_prefix_token_id);
      out.prompt_ids.insert(out.prompt_ids.end(), ids->begin(), ids->end());
      for (size_t i = 0; i < out.prompt_ids.size(); ++i) {
        if (out.prompt_ids[i] < 0 || out.prompt_ids[i] >= limits.vocab_size) {
          return Invalid("text", absl::StrCat("the tokenizer gave id ", out.prompt_ids[i],
                                              ", outside the model's vocabulary [0, ",
                                              limits.vocab_size, ")"));
        }
      }
      prompt_field = "text";
      break;
    }
    case v1::GenerateRequest::kTokenIds: {
      const auto& ids = request.token_ids().ids();
      if (ids.empty()) {
        return Invalid("token_ids.ids", "empty: the prompt needs at least one token");
      }
      for (int i = 0; i < ids.size(); ++i) {
        if (ids[i] >= static_cast<uint64_t>(limits.vocab_size)) {
          return Invalid(absl::StrCat("token_ids.ids[", i, "]"),
                         absl::StrCat("token id ", ids[i], " is outside the vocabulary [0, ",
                                      limits.vocab_size, ")"));
        }
        out.prompt_ids.push_back(static_cast<int32_t>(ids[i]));
      }
      break;
    }
    case v1::GenerateRequest::INPUT_NOT_SET:
      return Invalid("input", "empty: set text or token_ids");
  }
  if (static_cast<int64_t>(out.prompt_ids.size()) + 1 > limits.max_context_tokens) {
    return Invalid(prompt_field,
                   absl::StrCat("prompt of ", out.prompt_ids.size(),
                                " tokens leaves no room for one more in the context of ",
                                limits.max_context_tokens, " tokens"));
  }

  if (auto st = ReadSampling(request.sampling(), out); !st.ok()) return st;
  if (auto st = ReadStopping(request.stopping(), limits, out); !st.ok()) return st;
  if (request.top_logprobs() > kMaxTopLogprobs) {
    return Invalid("top_logprobs",
                   absl::StrCat("at most ", kMaxTopLogprobs, ", got ", request.top_logprobs()));
  }
  out.output_options = {.return_logprobs = request.return_logprobs(),
                        .top_logprobs = static_cast<int32_t>(request.top_logprobs()),
                        .return_prompt_logprobs = request.return_prompt_logprobs()};
  out.priority = request.priority();
  return out;
}

}  // namespace egmla
