// The summary as a table on stdout (laid out like vLLM's benchmark_serving) and as JSON.
#ifndef EGMLA_LOAD_TESTS_REPORT_H_
#define EGMLA_LOAD_TESTS_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "load-tests/request_record.h"
#include "load-tests/statistics.h"
#include "nlohmann/json.hpp"

namespace egmla::loadgen {

// What the run was, for the table's header.
struct RunDescription {
  std::string target;
  std::string model;         // e.g. "eg_mla, 4 layers, kv 1540 B/token"
  std::string request_rate;  // "inf" or a number
  double burstiness = 1;
  int64_t max_concurrency = 0;  // 0 = unlimited
  bool interrupted = false;
};

std::string FormatSummary(const Summary& summary, const Slo& slo, const RunDescription& run);

// Summary fields; distributions as {"count", "mean", "std", "min", "median", "p50", "p90",
// "p99", "max"} in milliseconds; goodput null without an SLO.
nlohmann::json SummaryToJson(const Summary& summary, const Slo& slo);
// One object per request: latencies in milliseconds (ttft_ms and tpot_ms null when there is
// none), token counts, status, finish reason, and itl_ms.
nlohmann::json RecordsToJson(const std::vector<RequestRecord>& records);

// Writes `json` (indented) to `path`.
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& json);

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_REPORT_H_
