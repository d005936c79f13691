// Per-request sampling and stopping parameters (DESIGN §4), validated by the server and plain
// data everywhere below it.
#ifndef EGMLA_COMMON_SAMPLING_PARAMS_H_
#define EGMLA_COMMON_SAMPLING_PARAMS_H_

#include <cstdint>
#include <vector>

namespace egmla {

// A temperature below this is greedy (argmax, lowest id on ties), as in vLLM: dividing logits by
// a smaller one overflows float (1e-38 gives inf and NaN probabilities), and so small a
// temperature leaves all but a vanishing share of the mass on the largest logit anyway.
inline constexpr float kGreedyTemperatureBelow = 1e-5f;

struct SamplingParams {
  float temperature = 1.0f;         // [0, 100]; < kGreedyTemperatureBelow = greedy
  float top_p = 1.0f;               // (0, 1]
  int32_t top_k = 0;                // 0 = off
  float min_p = 0.0f;               // [0, 1]
  float repetition_penalty = 1.0f;  // (0, 10]
  float presence_penalty = 0.0f;    // [-2, 2]
  float frequency_penalty = 0.0f;   // [-2, 2]
  uint64_t seed = 0;                // Philox key; the server picks one when the client does not
};

struct StoppingParams {
  int64_t max_tokens = 256;  // > 0: already resolved from the server default
  int64_t min_tokens = 0;    // eos and stop ids are masked until reached
  std::vector<int32_t> stop_token_ids;
  std::vector<int32_t> eos_token_ids;  // the model's; ignored when ignore_eos
  bool ignore_eos = false;
  int64_t max_context_tokens = 0;  // prompt + output may not exceed this
};

// What a request asks back besides tokens.
struct OutputOptions {
  bool return_logprobs = false;
  int32_t top_logprobs = 0;             // [0, 20]
  bool return_prompt_logprobs = false;  // bypasses the prefix cache
};

}  // namespace egmla

#endif  // EGMLA_COMMON_SAMPLING_PARAMS_H_
