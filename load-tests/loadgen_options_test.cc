#include "load-tests/loadgen_options.h"

#include <gtest/gtest.h>

#include <cmath>

namespace egmla::loadgen {
namespace {

TEST(ParseRequestRateTest, NumbersAndInf) {
  EXPECT_EQ(*ParseRequestRate("2.5"), 2.5);
  EXPECT_TRUE(std::isinf(*ParseRequestRate("inf")));
  EXPECT_TRUE(std::isinf(*ParseRequestRate("Infinity")));
  for (const char* bad : {"0", "-1", "fast", "", "nan"}) {
    absl::StatusOr<double> rate = ParseRequestRate(bad);
    ASSERT_FALSE(rate.ok()) << bad;
    EXPECT_NE(rate.status().message().find("--request-rate"), std::string::npos);
  }
}

bool Fails(const LoadgenOptions& o, const std::string& flag) {
  const absl::Status st = Validate(o);
  return !st.ok() && st.message().find(flag) != std::string::npos;
}

TEST(ValidateTest, DefaultsAreValid) { EXPECT_TRUE(Validate(LoadgenOptions{}).ok()); }

TEST(ValidateTest, ErrorsNameTheFlag) {
  LoadgenOptions o;
  o.burstiness = 0;
  EXPECT_TRUE(Fails(o, "--burstiness"));
  o = {};
  o.random_range_ratio = 1;
  EXPECT_TRUE(Fails(o, "--random-range-ratio"));
  o = {};
  o.random_input_len = 0;
  EXPECT_TRUE(Fails(o, "--random-input-len"));
  o = {};
  o.num_requests = 0;
  EXPECT_TRUE(Fails(o, "--num-requests"));
  o = {};
  o.slo.tpot_ms = -1;
  EXPECT_TRUE(Fails(o, "--slo-tpot"));
  o = {};
  o.max_concurrency = -1;
  EXPECT_TRUE(Fails(o, "--max-concurrency"));
}

TEST(ValidateTest, EndlessDurationRunIsRefused) {
  LoadgenOptions o;
  o.duration_s = 10;  // at rate inf without a concurrency limit: unbounded
  EXPECT_TRUE(Fails(o, "--duration"));
  o.max_concurrency = 8;
  EXPECT_TRUE(Validate(o).ok());
  o.max_concurrency = 0;
  o.request_rate = "4";
  EXPECT_TRUE(Validate(o).ok());
}

TEST(ValidateTest, Api) {
  LoadgenOptions o;
  o.api = "openai";
  EXPECT_TRUE(Validate(o).ok());
  o.model = "egmla-kjv";
  o.vocab_size = 2048;
  EXPECT_TRUE(Validate(o).ok());
  o.client.tls_ca = "ca.pem";
  EXPECT_TRUE(Fails(o, "--tls-ca"));
  o.client.tls_ca.clear();
  o.vocab_size = -1;
  EXPECT_TRUE(Fails(o, "--vocab-size"));
  o = {};
  o.api = "http";
  EXPECT_TRUE(Fails(o, "--api"));
  o = {};
  o.model = "egmla-kjv";  // the gRPC path has no model to choose
  EXPECT_TRUE(Fails(o, "--model"));
  o = {};
  o.vocab_size = 100;
  EXPECT_TRUE(Fails(o, "--vocab-size"));
}

TEST(RequestsToSendTest, DefaultUnlessDuration) {
  LoadgenOptions o;
  EXPECT_EQ(RequestsToSend(o), kDefaultNumRequests);
  o.duration_s = 5;
  EXPECT_FALSE(RequestsToSend(o).has_value());
  o.num_requests = 7;
  EXPECT_EQ(RequestsToSend(o), 7);
}

}  // namespace
}  // namespace egmla::loadgen
