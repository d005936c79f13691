#include "load-tests/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace egmla::loadgen {

double Percentile(const std::vector<double>& sorted, double q) {
  const double rank = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = rank - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

Distribution Describe(std::vector<double> values_s) {
  Distribution d;
  if (values_s.empty()) return d;
  for (double& v : values_s) v *= 1000.0;
  std::sort(values_s.begin(), values_s.end());
  const auto n = static_cast<double>(values_s.size());
  d.count = static_cast<int64_t>(values_s.size());
  d.mean = std::accumulate(values_s.begin(), values_s.end(), 0.0) / n;
  double squares = 0;
  for (double v : values_s) squares += (v - d.mean) * (v - d.mean);
  d.stddev = std::sqrt(squares / n);
  d.min = values_s.front();
  d.max = values_s.back();
  d.median = Percentile(values_s, 50);
  d.p90 = Percentile(values_s, 90);
  d.p99 = Percentile(values_s, 99);
  return d;
}

namespace {

bool MeetsSlo(const RequestRecord& r, const Slo& slo) {
  if (slo.ttft_ms && !(r.ttft_s && *r.ttft_s * 1000.0 <= *slo.ttft_ms)) return false;
  if (slo.tpot_ms) {
    const std::optional<double> tpot = r.tpot_s();
    if (tpot && *tpot * 1000.0 > *slo.tpot_ms) return false;
  }
  return true;
}

double PerSecond(double amount, double duration_s) {
  return duration_s > 0 ? amount / duration_s : 0.0;
}

}  // namespace

Summary Summarize(const std::vector<RequestRecord>& records, double duration_s, const Slo& slo) {
  Summary s{.duration_s = duration_s};
  std::vector<double> ttft;
  std::vector<double> tpot;
  std::vector<double> itl;
  std::vector<double> e2e;
  for (const RequestRecord& r : records) {
    if (!r.succeeded()) {
      ++s.failed;
      ++s.failures[r.failure()];
      continue;
    }
    ++s.completed;
    ++s.finish_reasons[r.finish_reason];
    s.total_input_tokens += r.input_tokens;
    s.total_output_tokens += r.output_tokens;
    if (r.completion_tokens != r.output_tokens) ++s.token_count_mismatches;
    if (r.ttft_s) ttft.push_back(*r.ttft_s);
    if (std::optional<double> t = r.tpot_s()) tpot.push_back(*t);
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
    e2e.push_back(r.e2e_s);
    if (slo.any() && MeetsSlo(r, slo)) ++s.good_requests;
  }
  s.request_throughput = PerSecond(static_cast<double>(s.completed), duration_s);
  s.output_throughput = PerSecond(static_cast<double>(s.total_output_tokens), duration_s);
  s.total_token_throughput =
      PerSecond(static_cast<double>(s.total_input_tokens + s.total_output_tokens), duration_s);
  if (slo.any()) s.goodput = PerSecond(static_cast<double>(s.good_requests), duration_s);
  s.ttft_ms = Describe(std::move(ttft));
  s.tpot_ms = Describe(std::move(tpot));
  s.itl_ms = Describe(std::move(itl));
  s.e2e_ms = Describe(std::move(e2e));
  return s;
}

}  // namespace egmla::loadgen
