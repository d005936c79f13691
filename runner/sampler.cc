#include "runner/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "runner/philox.h"

namespace egmla {
namespace {

void ApplyPenalties(std::vector<float>& x, const SamplingParams& p,
                    std::span<const int32_t> prompt_ids, std::span<const int32_t> output_ids) {
  if (p.repetition_penalty != 1.0f) {
    std::vector<bool> seen(x.size(), false);
    for (auto ids : {prompt_ids, output_ids}) {
      for (int32_t id : ids) seen[id] = true;
    }
    for (size_t i = 0; i < x.size(); ++i) {
      if (seen[i]) x[i] = x[i] > 0 ? x[i] / p.repetition_penalty : x[i] * p.repetition_penalty;
    }
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::unordered_map<int32_t, int> counts;
    for (int32_t id : output_ids) ++counts[id];
    for (const auto& [id, count] : counts) {
      x[id] -= p.presence_penalty + p.frequency_penalty * static_cast<float>(count);
    }
  }
}

int32_t Argmax(const std::vector<float>& x) {
  return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());
}

}  // namespace

std::vector<float> LogSoftmax(std::span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max));
  const float log_sum = static_cast<float>(std::log(sum)) + max;
  std::vector<float> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - log_sum;
  return out;
}

int32_t SampleToken(std::span<const float> logits, const SamplingParams& params,
                    std::span<const int32_t> prompt_ids, std::span<const int32_t> output_ids) {
  std::vector<float> x(logits.begin(), logits.end());
  ApplyPenalties(x, params, prompt_ids, output_ids);
  // max_element keeps the lowest id on ties.
  if (params.temperature < kGreedyTemperatureBelow) return Argmax(x);

  // Candidates sorted by logit (ties: lower id first), then truncated by top-k, top-p, min-p.
  std::vector<int32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return x[a] > x[b]; });
  size_t keep = order.size();
  if (params.top_k > 0) keep = std::min(keep, static_cast<size_t>(params.top_k));

  std::vector<double> probs(keep);
  const double max = x[order[0]] / params.temperature;
  double sum = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp(x[order[i]] / params.temperature - max);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  if (params.top_p < 1.0f) {
    double cumulative = 0.0;
    size_t n = 0;
    while (n < keep && cumulative < params.top_p) cumulative += probs[n++];
    keep = std::max<size_t>(n, 1);
  }
  if (params.min_p > 0.0f) {
    const double threshold = params.min_p * probs[0];
    size_t n = 1;
    while (n < keep && probs[n] >= threshold) ++n;
    keep = n;
  }
  const double total = std::accumulate(probs.begin(), probs.begin() + keep, 0.0);
  const double u = PhiloxUniform(params.seed, output_ids.size()) * total;
  double cumulative = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];
}

}  // namespace egmla
