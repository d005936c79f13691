// Token selection for one request and one step, in vLLM's order (DESIGN §4): repetition,
// presence and frequency penalties; temperature (0 = greedy); top-k; top-p; min-p; one draw.
#ifndef EGMLA_MODEL_SAMPLER_H_
#define EGMLA_MODEL_SAMPLER_H_

#include <cstdint>
#include <span>
#include <vector>

namespace egmla {

struct SamplingParams {
  float temperature = 1.0f;         // [0, 100]; 0 = greedy (argmax, lowest id on ties)
  float top_p = 1.0f;               // (0, 1]
  int32_t top_k = 0;                // 0 = off
  float min_p = 0.0f;               // [0, 1]
  float repetition_penalty = 1.0f;  // (0, 10]
  float presence_penalty = 0.0f;    // [-2, 2]
  float frequency_penalty = 0.0f;   // [-2, 2]
  uint64_t seed = 0;
};

// Picks the next token from `logits` ([vocab], raw). `output_index` is the number of tokens the
// request has generated so far: the Philox counter of this draw.
int32_t SampleToken(std::span<const float> logits, const SamplingParams& params,
                    std::span<const int32_t> prompt_ids, std::span<const int32_t> output_ids);

// log-softmax of raw logits (the model's own distribution, before penalties and temperature).
std::vector<float> LogSoftmax(std::span<const float> logits);

}  // namespace egmla

#endif  // EGMLA_MODEL_SAMPLER_H_
