#include "load-tests/report.h"

#include <algorithm>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace egmla::loadgen {
namespace {

constexpr int kWidth = 50;

// "=====  Title  =====" centred in kWidth characters of `fill`.
std::string Rule(const std::string& title, char fill) {
  const std::string text = title.empty() ? "" : absl::StrCat(" ", title, " ");
  const size_t left = (kWidth - std::min<size_t>(text.size(), kWidth)) / 2;
  const size_t right = kWidth - std::min<size_t>(text.size() + left, kWidth);
  return absl::StrCat(std::string(left, fill), text, std::string(right, fill), "\n");
}

std::string Row(const std::string& label, const std::string& value) {
  return absl::StrFormat("%-40s %s\n", label + ":", value);
}

std::string Number(double value, int decimals = 2) {
  return absl::StrFormat("%.*f", decimals, value);
}

std::string Latency(const std::string& title, const std::string& name, const Distribution& d) {
  std::string out = Rule(title, '-');
  if (d.count == 0) return absl::StrCat(out, Row(absl::StrCat(name, " (ms)"), "n/a"));
  absl::StrAppend(&out, Row(absl::StrCat("Mean ", name, " (ms)"), Number(d.mean)),
                  Row(absl::StrCat("Median ", name, " (ms)"), Number(d.median)),
                  Row(absl::StrCat("P90 ", name, " (ms)"), Number(d.p90)),
                  Row(absl::StrCat("P99 ", name, " (ms)"), Number(d.p99)));
  return out;
}

nlohmann::json DistributionToJson(const Distribution& d) {
  return {{"count", d.count}, {"mean", d.mean},     {"std", d.stddev},
          {"min", d.min},     {"median", d.median}, {"p50", d.median},
          {"p90", d.p90},     {"p99", d.p99},       {"max", d.max}};
}

nlohmann::json OptionalMs(std::optional<double> seconds) {
  return seconds ? nlohmann::json(*seconds * 1000.0) : nlohmann::json(nullptr);
}

}  // namespace

std::string FormatSummary(const Summary& s, const Slo& slo, const RunDescription& run) {
  std::string out = Rule("Serving Benchmark Result", '=');
  absl::StrAppend(
      &out, Row("Target", run.target), Row("Model", run.model),
      Row("Request rate (req/s)",
          absl::StrCat(run.request_rate, " (burstiness ", run.burstiness, ")")),
      Row("Max concurrency",
          run.max_concurrency == 0 ? std::string("unlimited") : absl::StrCat(run.max_concurrency)));
  if (run.interrupted) absl::StrAppend(&out, Row("Interrupted", "yes (partial results)"));
  absl::StrAppend(&out, Row("Successful requests", absl::StrCat(s.completed)),
                  Row("Failed requests", absl::StrCat(s.failed)),
                  Row("Benchmark duration (s)", Number(s.duration_s)),
                  Row("Total input tokens", absl::StrCat(s.total_input_tokens)),
                  Row("Total generated tokens", absl::StrCat(s.total_output_tokens)),
                  Row("Request throughput (req/s)", Number(s.request_throughput)));
  if (s.goodput) {
    std::string objectives;
    if (slo.ttft_ms) absl::StrAppend(&objectives, "TTFT<=", *slo.ttft_ms, "ms");
    if (slo.tpot_ms) {
      absl::StrAppend(&objectives, objectives.empty() ? "" : " ", "TPOT<=", *slo.tpot_ms, "ms");
    }
    absl::StrAppend(&out, Row("Request goodput (req/s)",
                              absl::StrCat(Number(*s.goodput), " (", objectives, ")")));
  }
  absl::StrAppend(&out, Row("Output token throughput (tok/s)", Number(s.output_throughput)),
                  Row("Total token throughput (tok/s)", Number(s.total_token_throughput)));
  absl::StrAppend(&out, Latency("Time to First Token", "TTFT", s.ttft_ms),
                  Latency("Time per Output Token (excl. 1st token)", "TPOT", s.tpot_ms),
                  Latency("Inter-token Latency", "ITL", s.itl_ms),
                  Latency("End-to-end Latency", "E2E", s.e2e_ms));
  if (!s.failures.empty()) {
    absl::StrAppend(&out, Rule("Failures", '-'));
    for (const auto& [name, count] : s.failures)
      absl::StrAppend(&out, Row(name, absl::StrCat(count)));
  }
  if (s.token_count_mismatches > 0) {
    absl::StrAppend(&out, Row("Warning: completion_tokens != streamed",
                              absl::StrCat(s.token_count_mismatches, " requests")));
  }
  absl::StrAppend(&out, Rule("", '='));
  return out;
}

nlohmann::json SummaryToJson(const Summary& s, const Slo& slo) {
  nlohmann::json slo_json = {{"ttft_ms", slo.ttft_ms ? nlohmann::json(*slo.ttft_ms) : nullptr},
                             {"tpot_ms", slo.tpot_ms ? nlohmann::json(*slo.tpot_ms) : nullptr}};
  return {{"duration_s", s.duration_s},
          {"completed", s.completed},
          {"failed", s.failed},
          {"failures", s.failures},
          {"finish_reasons", s.finish_reasons},
          {"total_input_tokens", s.total_input_tokens},
          {"total_output_tokens", s.total_output_tokens},
          {"token_count_mismatches", s.token_count_mismatches},
          {"request_throughput", s.request_throughput},
          {"output_throughput", s.output_throughput},
          {"total_token_throughput", s.total_token_throughput},
          {"slo", slo_json},
          {"good_requests", s.goodput ? nlohmann::json(s.good_requests) : nullptr},
          {"goodput", s.goodput ? nlohmann::json(*s.goodput) : nullptr},
          {"ttft_ms", DistributionToJson(s.ttft_ms)},
          {"tpot_ms", DistributionToJson(s.tpot_ms)},
          {"itl_ms", DistributionToJson(s.itl_ms)},
          {"e2e_ms", DistributionToJson(s.e2e_ms)}};
}

nlohmann::json RecordsToJson(const std::vector<RequestRecord>& records) {
  nlohmann::json out = nlohmann::json::array();
  for (const RequestRecord& r : records) {
    std::vector<double> itl_ms;
    itl_ms.reserve(r.itl_s.size());
    for (double v : r.itl_s) itl_ms.push_back(v * 1000.0);
    out.push_back({{"index", r.index},
                   {"request_id", r.request_id},
                   {"start_s", r.start_s},
                   {"status", r.status},
                   {"error", r.error_message},
                   {"finish_reason", r.finish_reason},
                   {"input_tokens", r.input_tokens},
                   {"output_tokens", r.output_tokens},
                   {"ttft_ms", OptionalMs(r.ttft_s)},
                   {"tpot_ms", OptionalMs(r.tpot_s())},
                   {"e2e_ms", r.e2e_s * 1000.0},
                   {"itl_ms", itl_ms}});
  }
  return out;
}

absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& json) {
  std::ofstream out(path);
  if (!out) return absl::UnavailableError(absl::StrCat("--output-json: cannot write ", path));
  out << json.dump(2) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("--output-json: error writing ", path));
  return absl::OkStatus();
}

}  // namespace egmla::loadgen
