// The summary of a load run: latency distributions, throughput, goodput and failures, computed
// from the per-request records as vLLM's benchmark_serving does.
#ifndef EGMLA_LOAD_TESTS_STATISTICS_H_
#define EGMLA_LOAD_TESTS_STATISTICS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "load-tests/request_record.h"

namespace egmla::loadgen {

// The q-th percentile (0..100) of `sorted` with linear interpolation between closest ranks,
// as numpy.percentile's default. REQUIRES: sorted ascending, not empty.
double Percentile(const std::vector<double>& sorted, double q);

// Statistics of one metric, in milliseconds. All fields are 0 when count is 0.
struct Distribution {
  int64_t count = 0;
  double mean = 0;
  double stddev = 0;  // population standard deviation
  double min = 0;
  double median = 0;  // = p50
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};
// `values` in seconds; the result in milliseconds.
Distribution Describe(std::vector<double> values_s);

// Service-level objectives for goodput; unset = not required.
struct Slo {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
  bool any() const { return ttft_ms.has_value() || tpot_ms.has_value(); }
};

struct Summary {
  double duration_s = 0;  // first call started .. last call finished
  int64_t completed = 0;  // succeeded requests
  int64_t failed = 0;
  std::map<std::string, int64_t> failures;        // RequestRecord::failure() -> count
  std::map<std::string, int64_t> finish_reasons;  // of completed requests
  int64_t total_input_tokens = 0;                 // of completed requests
  int64_t total_output_tokens = 0;                // of completed requests
  // Completed requests whose Complete.completion_tokens differs from the tokens streamed.
  int64_t token_count_mismatches = 0;
  double request_throughput = 0;      // completed / duration
  double output_throughput = 0;       // output tokens / duration
  double total_token_throughput = 0;  // (input + output tokens) / duration
  int64_t good_requests = 0;          // completed and within every SLO given
  std::optional<double> goodput;      // good_requests / duration; set when an SLO is given
  Distribution ttft_ms;
  Distribution tpot_ms;  // requests with at least two output tokens
  Distribution itl_ms;   // every inter-token gap of every completed request
  Distribution e2e_ms;
};

// Latencies and throughput count completed requests only. A request with one output token
// meets any TPOT objective.
Summary Summarize(const std::vector<RequestRecord>& records, double duration_s, const Slo& slo);

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_STATISTICS_H_
