// Token selection for one request and one step, in vLLM's order (DESIGN §4): repetition,
// presence and frequency penalties; temperature (below kGreedyTemperatureBelow, 1e-5, = greedy);
// top-k; top-p; min-p; one draw.
#ifndef EGMLA_RUNNER_SAMPLER_H_
#define EGMLA_RUNNER_SAMPLER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "common/sampling_params.h"

namespace egmla {

// Picks the next token from `logits` ([vocab], raw). The Philox counter of the draw is
// output_ids.size(), the number of tokens the request has generated so far.
int32_t SampleToken(std::span<const float> logits, const SamplingParams& params,
                    std::span<const int32_t> prompt_ids, std::span<const int32_t> output_ids);

// log-softmax of raw logits (the model's own distribution, before penalties and temperature).
std::vector<float> LogSoftmax(std::span<const float> logits);

}  // namespace egmla

#endif  // EGMLA_RUNNER_SAMPLER_H_
