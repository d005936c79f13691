#include "load-tests/report.h"

#include <gtest/gtest.h>

namespace egmla::loadgen {
namespace {

Summary OneRequest() {
  RequestRecord r;
  r.ttft_s = 0.05;
  r.e2e_s = 0.5;
  r.output_tokens = 10;
  r.completion_tokens = 10;
  r.finish_reason = "LENGTH";
  r.itl_s.assign(9, 0.05);
  RequestRecord failed;
  failed.status = "UNAVAILABLE";
  return Summarize({r, failed}, 1.0, {.ttft_ms = 100});
}

TEST(ReportTest, TableHasEverySection) {
  const std::string table = FormatSummary(OneRequest(), {.ttft_ms = 100},
                                          {.target = "localhost:1", .request_rate = "inf"});
  for (const char* needle :
       {"Serving Benchmark Result", "Successful requests:", "Failed requests:",
        "Request throughput (req/s):", "Request goodput (req/s):",
        "Output token throughput (tok/s):", "Total token throughput (tok/s):", "Mean TTFT (ms):",
        "P99 TTFT (ms):", "Median TPOT (ms):", "P90 ITL (ms):", "P99 E2E (ms):", "UNAVAILABLE:"}) {
    EXPECT_NE(table.find(needle), std::string::npos) << needle << "\n" << table;
  }
}

TEST(ReportTest, JsonHasPercentilesThroughputAndFailures) {
  const nlohmann::json json = SummaryToJson(OneRequest(), {.ttft_ms = 100});
  for (const char* metric : {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}) {
    for (const char* stat : {"mean", "median", "p50", "p90", "p99"}) {
      EXPECT_TRUE(json[metric][stat].is_number()) << metric << " " << stat;
    }
  }
  EXPECT_DOUBLE_EQ(json["ttft_ms"]["p50"].get<double>(), 50);
  EXPECT_DOUBLE_EQ(json["request_throughput"].get<double>(), 1);
  EXPECT_DOUBLE_EQ(json["output_throughput"].get<double>(), 10);
  EXPECT_EQ(json["failures"]["UNAVAILABLE"].get<int>(), 1);
  EXPECT_DOUBLE_EQ(json["goodput"].get<double>(), 1);
}

TEST(ReportTest, RecordsInMilliseconds) {
  RequestRecord r;
  r.index = 3;
  r.e2e_s = 0.25;
  r.itl_s = {0.01};
  const nlohmann::json json = RecordsToJson({r});
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["index"].get<int>(), 3);
  EXPECT_DOUBLE_EQ(json[0]["e2e_ms"].get<double>(), 250);
  EXPECT_TRUE(json[0]["ttft_ms"].is_null());
  EXPECT_DOUBLE_EQ(json[0]["itl_ms"][0].get<double>(), 10);
}

}  // namespace
}  // namespace egmla::loadgen
