#include "load-tests/statistics.h"

#include <gtest/gtest.h>

#include <vector>

namespace egmla::loadgen {
namespace {

RequestRecord Completed(double ttft_s, double e2e_s, int64_t output_tokens) {
  RequestRecord r;
  r.ttft_s = ttft_s;
  r.e2e_s = e2e_s;
  r.input_tokens = 10;
  r.output_tokens = output_tokens;
  r.completion_tokens = output_tokens;
  r.finish_reason = "LENGTH";
  const double gap = output_tokens > 1 ? (e2e_s - ttft_s) / (output_tokens - 1) : 0;
  r.itl_s.assign(static_cast<size_t>(std::max<int64_t>(0, output_tokens - 1)), gap);
  return r;
}

TEST(PercentileTest, InterpolatesLikeNumpy) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 3.7);  // numpy.percentile([1,2,3,4], 90)
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(Percentile({5}, 99), 5);
}

TEST(DescribeTest, MillisecondsAndMoments) {
  const Distribution d = Describe({0.001, 0.002, 0.003});
  EXPECT_EQ(d.count, 3);
  EXPECT_DOUBLE_EQ(d.mean, 2);
  EXPECT_DOUBLE_EQ(d.median, 2);
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.max, 3);
  EXPECT_NEAR(d.stddev, 0.8164965809, 1e-9);
  EXPECT_EQ(Describe({}).count, 0);
}

TEST(RecordTest, TpotExcludesTheFirstToken) {
  const RequestRecord r = Completed(/*ttft_s=*/0.1, /*e2e_s=*/1.0, /*output_tokens=*/10);
  EXPECT_DOUBLE_EQ(*r.tpot_s(), 0.1);
  EXPECT_FALSE(Completed(0.1, 0.1, 1).tpot_s().has_value());
}

TEST(RecordTest, FailureKinds) {
  RequestRecord r = Completed(0.1, 1, 2);
  EXPECT_TRUE(r.succeeded());
  r.finish_reason = "ABORTED";
  EXPECT_EQ(r.failure(), kFailureFinishAborted);
  r.completion_tokens.reset();
  EXPECT_EQ(r.failure(), kFailureNoComplete);
  r.status = "UNAVAILABLE";
  EXPECT_EQ(r.failure(), "UNAVAILABLE");
}

TEST(SummarizeTest, ThroughputLatenciesAndFailures) {
  std::vector<RequestRecord> records = {Completed(0.1, 1.0, 10), Completed(0.3, 2.0, 18)};
  RequestRecord refused;
  refused.status = "RESOURCE_EXHAUSTED";
  records.push_back(refused);
  const Summary s = Summarize(records, /*duration_s=*/4.0, Slo{});
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.failures.at("RESOURCE_EXHAUSTED"), 1);
  EXPECT_EQ(s.finish_reasons.at("LENGTH"), 2);
  EXPECT_EQ(s.total_input_tokens, 20);
  EXPECT_EQ(s.total_output_tokens, 28);
  EXPECT_DOUBLE_EQ(s.request_throughput, 0.5);
  EXPECT_DOUBLE_EQ(s.output_throughput, 7);
  EXPECT_DOUBLE_EQ(s.total_token_throughput, 12);
  EXPECT_DOUBLE_EQ(s.ttft_ms.mean, 200);
  EXPECT_DOUBLE_EQ(s.tpot_ms.median, 100);
  EXPECT_EQ(s.itl_ms.count, 9 + 17);
  EXPECT_DOUBLE_EQ(s.e2e_ms.max, 2000);
  EXPECT_FALSE(s.goodput.has_value());
  EXPECT_EQ(s.token_count_mismatches, 0);
}

TEST(SummarizeTest, GoodputCountsRequestsWithinEverySlo) {
  // TTFT 100 ms / TPOT 100 ms; TTFT 300 ms / TPOT 100 ms; TTFT 100 ms / TPOT 400 ms.
  const std::vector<RequestRecord> records = {Completed(0.1, 1.0, 10), Completed(0.3, 1.2, 10),
                                              Completed(0.1, 3.7, 10)};
  const Summary ttft_only = Summarize(records, 2.0, {.ttft_ms = 200});
  EXPECT_EQ(ttft_only.good_requests, 2);
  EXPECT_DOUBLE_EQ(*ttft_only.goodput, 1.0);
  const Summary both = Summarize(records, 2.0, {.ttft_ms = 200, .tpot_ms = 150});
  EXPECT_EQ(both.good_requests, 1);
}

TEST(SummarizeTest, CountsTokenMismatches) {
  RequestRecord r = Completed(0.1, 1, 5);
  r.completion_tokens = 6;
  EXPECT_EQ(Summarize({r}, 1, Slo{}).token_count_mismatches, 1);
}

}  // namespace
}  // namespace egmla::loadgen
