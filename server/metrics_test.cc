#include "server/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

// Every name of DESIGN §7 and its type.
const std::map<std::string, std::string>& DesignMetrics() {
  static const auto* const kMetrics = new std::map<std::string, std::string>{
      {"egmla_requests_running", "gauge"},
      {"egmla_requests_waiting", "gauge"},
      {"egmla_kv_cache_usage_ratio", "gauge"},
      {"egmla_kv_cache_blocks", "gauge"},
      {"egmla_kv_cache_bytes_per_token", "gauge"},
      {"egmla_kv_cache_elements_per_token", "gauge"},
      {"egmla_gate_table_bytes", "gauge"},
      {"egmla_draining", "gauge"},
      {"egmla_prompt_tokens_total", "counter"},
      {"egmla_generation_tokens_total", "counter"},
      {"egmla_prefix_cache_queries_total", "counter"},
      {"egmla_prefix_cache_hits_total", "counter"},
      {"egmla_preemptions_total", "counter"},
      {"egmla_requests_finished_total", "counter"},
      {"egmla_requests_rejected_total", "counter"},
      {"egmla_time_to_first_token_seconds", "histogram"},
      {"egmla_inter_token_latency_seconds", "histogram"},
      {"egmla_e2e_request_latency_seconds", "histogram"},
      {"egmla_queue_time_seconds", "histogram"},
      {"egmla_step_duration_seconds", "histogram"},
      {"egmla_step_batch_tokens", "histogram"},
      {"egmla_build_info", "gauge"},
      {"egmla_device_info", "gauge"},
  };
  return *kMetrics;
}

// name -> type from the "# TYPE" lines.
std::map<std::string, std::string> Types(const std::string& text) {
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hash, kw, name, type;
    if (words >> hash >> kw >> name >> type && hash == "#" && kw == "TYPE") types[name] = type;
  }
  return types;
}

// The value of one series, e.g. Value(text, "egmla_kv_cache_blocks{state=\"used\"}"); nullopt
// when the series is absent.
std::optional<double> Value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

double ValueOr(const std::string& text, const std::string& series) {
  std::optional<double> v = Value(text, series);
  EXPECT_TRUE(v.has_value()) << "no series " << series << " in\n" << text;
  return v.value_or(NAN);
}

// A snapshot the test changes between renders.
class FakeEngine {
 public:
  MetricsSnapshot Get() {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    return snapshot_;
  }
  void Set(const MetricsSnapshot& s) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = s;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::function<MetricsSnapshot()> Fn() {
    return [this] { return Get(); };
  }

 private:
  std::mutex mu_;
  MetricsSnapshot snapshot_;
  int calls_ = 0;
};

std::unique_ptr<Metrics> MakeMetrics(FakeEngine& engine) {
  return std::make_unique<Metrics>(engine.Fn());
}

TEST(MetricsTest, EveryDesignNameHasItsType) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  const std::string text = metrics->Render();
  const std::map<std::string, std::string> types = Types(text);
  for (const auto& [name, type] : DesignMetrics()) {
    auto it = types.find(name);
    ASSERT_NE(it, types.end()) << name << " missing from\n" << text;
    EXPECT_EQ(it->second, type) << name;
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# HELP ", name, " "))) << name;
  }
  // Nothing beyond the contract.
  EXPECT_EQ(types.size(), DesignMetrics().size()) << text;
}

TEST(MetricsTest, LabelValuesExistBeforeTheFirstEvent) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  const std::string text = metrics->Render();
  for (const char* reason : {"length", "stop", "stop_sequence", "aborted", "context_limit"}) {
    EXPECT_EQ(ValueOr(text, absl::StrCat("egmla_requests_finished_total{finish_reason=\"", reason,
                                         "\"}")),
              0)
        << reason;
  }
  for (const char* code : {"invalid_argument", "already_exists", "resource_exhausted",
                           "unavailable", "failed_precondition", "unauthenticated"}) {
    EXPECT_EQ(ValueOr(text, absl::StrCat("egmla_requests_rejected_total{code=\"", code, "\"}")), 0)
        << code;
  }
  for (const char* state : {"used", "cached", "free"}) {
    EXPECT_EQ(ValueOr(text, absl::StrCat("egmla_kv_cache_blocks{state=\"", state, "\"}")), 0);
  }
  // No finish_reason="" series for kNone.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("finish_reason=\"\"")));
}

TEST(MetricsTest, GaugesFollowTheSnapshot) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  MetricsSnapshot s;
  s.engine.running = 3;
  s.engine.waiting = 7;
  s.engine.kv_cache_usage = 0.25;
  s.engine.used_blocks = 25;
  s.engine.cached_blocks = 15;
  s.engine.free_blocks = 60;
  s.engine.total_blocks = 100;
  s.draining = true;
  s.kv_cache_elements_per_token = 1152;
  s.kv_cache_bytes_per_token = 2304;
  s.gate_table_bytes = 1 << 20;
  engine.Set(s);
  std::string text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_requests_running"), 3);
  EXPECT_EQ(ValueOr(text, "egmla_requests_waiting"), 7);
  EXPECT_EQ(ValueOr(text, "egmla_kv_cache_usage_ratio"), 0.25);
  EXPECT_EQ(ValueOr(text, "egmla_kv_cache_blocks{state=\"used\"}"), 25);
  EXPECT_EQ(ValueOr(text, "egmla_kv_cache_blocks{state=\"cached\"}"), 15);
  EXPECT_EQ(ValueOr(text, "egmla_kv_cache_blocks{state=\"free\"}"), 60);
  EXPECT_EQ(ValueOr(text, "egmla_kv_cache_elements_per_token"), 1152);
  EXPECT_EQ(ValueOr(text, "egmla_kv_cache_bytes_per_token"), 2304);
  EXPECT_EQ(ValueOr(text, "egmla_gate_table_bytes"), 1 << 20);
  EXPECT_EQ(ValueOr(text, "egmla_draining"), 1);

  s.engine.running = 0;
  s.draining = false;
  engine.Set(s);
  text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_requests_running"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_draining"), 0);
}

TEST(MetricsTest, CountersAdvanceByTheGrowthOfTheTotals) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  MetricsSnapshot s;
  s.engine.prompt_tokens = 100;
  s.engine.generation_tokens = 40;
  s.engine.prefix_cache_query_tokens = 100;
  s.engine.prefix_cache_hit_tokens = 64;
  s.engine.preemptions = 1;
  engine.Set(s);
  std::string text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_prompt_tokens_total"), 100);
  EXPECT_EQ(ValueOr(text, "egmla_generation_tokens_total"), 40);
  EXPECT_EQ(ValueOr(text, "egmla_prefix_cache_queries_total"), 100);
  EXPECT_EQ(ValueOr(text, "egmla_prefix_cache_hits_total"), 64);
  EXPECT_EQ(ValueOr(text, "egmla_preemptions_total"), 1);

  // The same totals again: nothing is added twice.
  text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_prompt_tokens_total"), 100);
  EXPECT_EQ(ValueOr(text, "egmla_preemptions_total"), 1);

  s.engine.prompt_tokens = 250;
  s.engine.generation_tokens = 41;
  s.engine.prefix_cache_query_tokens = 250;
  s.engine.prefix_cache_hit_tokens = 128;
  s.engine.preemptions = 3;
  engine.Set(s);
  text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_prompt_tokens_total"), 250);
  EXPECT_EQ(ValueOr(text, "egmla_generation_tokens_total"), 41);
  EXPECT_EQ(ValueOr(text, "egmla_prefix_cache_queries_total"), 250);
  EXPECT_EQ(ValueOr(text, "egmla_prefix_cache_hits_total"), 128);
  EXPECT_EQ(ValueOr(text, "egmla_preemptions_total"), 3);

  // A total that goes back (not expected from the engine) never makes a counter decrease; growth
  // from the new baseline is counted.
  s.engine.prompt_tokens = 10;
  engine.Set(s);
  text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_prompt_tokens_total"), 250);
  s.engine.prompt_tokens = 15;
  engine.Set(s);
  text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_prompt_tokens_total"), 255);
}

TEST(MetricsTest, StepCallbacksLandInTheirHistograms) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  metrics->OnStep(0.003, 100);
  metrics->OnStep(2.0, 1);
  const std::string text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_count"), 2);
  EXPECT_DOUBLE_EQ(ValueOr(text, "egmla_step_duration_seconds_sum"), 2.003);
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_bucket{le=\"0.0025\"}"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_bucket{le=\"1\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_bucket{le=\"2.5\"}"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_bucket{le=\"+Inf\"}"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_step_batch_tokens_count"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_step_batch_tokens_sum"), 101);
  EXPECT_EQ(ValueOr(text, "egmla_step_batch_tokens_bucket{le=\"1\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_step_batch_tokens_bucket{le=\"64\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_step_batch_tokens_bucket{le=\"128\"}"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_step_batch_tokens_bucket{le=\"16384\"}"), 2);
  // Nothing else moved.
  EXPECT_EQ(ValueOr(text, "egmla_queue_time_seconds_count"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_e2e_request_latency_seconds_count"), 0);
}

TEST(MetricsTest, RequestCallbacksLandInTheirHistogramsAndLabels) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  metrics->OnFirstToken(0.02, 0.3);
  metrics->OnToken(0.004);
  metrics->OnToken(0.006);
  metrics->OnToken(0.007);
  metrics->OnFinished(FinishReason::kStopSequence, 1.5);
  metrics->OnFinished(FinishReason::kLength, 700);  // past the last bucket: only +Inf
  metrics->OnFinished(FinishReason::kNone, 1.0);    // not a finish: ignored
  const std::string text = metrics->Render();

  EXPECT_EQ(ValueOr(text, "egmla_queue_time_seconds_count"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_queue_time_seconds_bucket{le=\"0.01\"}"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_queue_time_seconds_bucket{le=\"0.025\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_time_to_first_token_seconds_count"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_time_to_first_token_seconds_bucket{le=\"0.25\"}"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_time_to_first_token_seconds_bucket{le=\"0.5\"}"), 1);
  EXPECT_DOUBLE_EQ(ValueOr(text, "egmla_time_to_first_token_seconds_sum"), 0.3);

  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_count"), 3);
  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_bucket{le=\"0.01\"}"), 3);

  EXPECT_EQ(ValueOr(text, "egmla_requests_finished_total{finish_reason=\"stop_sequence\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_requests_finished_total{finish_reason=\"length\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_requests_finished_total{finish_reason=\"stop\"}"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_requests_finished_total{finish_reason=\"aborted\"}"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_requests_finished_total{finish_reason=\"context_limit\"}"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_e2e_request_latency_seconds_count"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_e2e_request_latency_seconds_bucket{le=\"2.5\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_e2e_request_latency_seconds_bucket{le=\"600\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_e2e_request_latency_seconds_bucket{le=\"+Inf\"}"), 2);
}

TEST(MetricsTest, BadDurationsAreCleaned) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  metrics->OnToken(NAN);
  metrics->OnToken(-0.5);  // a clock step: counted as 0
  const std::string text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_count"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_sum"), 0);
  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_bucket{le=\"0.001\"}"), 1);
}

TEST(MetricsTest, RejectionsAreCountedByCode) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  metrics->OnRejected(absl::StatusCode::kResourceExhausted);
  metrics->OnRejected(absl::StatusCode::kResourceExhausted);
  metrics->OnRejected(absl::StatusCode::kUnauthenticated);
  metrics->OnRejected(absl::StatusCode::kPermissionDenied);  // not pre-created
  metrics->OnRejected(absl::StatusCode::kPermissionDenied);
  metrics->OnRejected(absl::StatusCode::kOk);  // ignored
  const std::string text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_requests_rejected_total{code=\"resource_exhausted\"}"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_requests_rejected_total{code=\"unauthenticated\"}"), 1);
  EXPECT_EQ(ValueOr(text, "egmla_requests_rejected_total{code=\"permission_denied\"}"), 2);
  EXPECT_EQ(ValueOr(text, "egmla_requests_rejected_total{code=\"invalid_argument\"}"), 0);
  EXPECT_FALSE(Value(text, "egmla_requests_rejected_total{code=\"ok\"}").has_value());
}

TEST(MetricsTest, StatusCodeNamesAreTheGrpcNamesInLowerCase) {
  for (int c = 0; c <= 16; ++c) {
    const auto code = static_cast<absl::StatusCode>(c);
    EXPECT_EQ(StatusCodeMetricName(code), absl::AsciiStrToLower(absl::StatusCodeToString(code)))
        << c;
  }
  EXPECT_STREQ(StatusCodeMetricName(static_cast<absl::StatusCode>(99)), "unknown");
}

TEST(MetricsTest, Buckets) {
  const std::vector<double>& s = LatencyBucketsSeconds();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), 0.001);
  EXPECT_GE(s.back(), 600);
  for (size_t i = 1; i < s.size(); ++i) {
    EXPECT_GE(s[i] / s[i - 1], 2.0 - 1e-9) << i;
    EXPECT_LE(s[i] / s[i - 1], 2.5 + 1e-9) << i;
  }
  const std::vector<double>& b = BatchTokenBuckets();
  ASSERT_EQ(b.size(), 15u);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i], std::ldexp(1.0, static_cast<int>(i)));
}

TEST(MetricsTest, NoSnapshotFunctionIsFine) {
  Metrics m(nullptr);
  EXPECT_EQ(ValueOr(m.Render(), "egmla_requests_running"), 0);
}

TEST(MetricsTest, BuildAndDeviceInfoCarryTheirLabels) {
  Metrics m(nullptr, {.version = "1.2.3",
                      .git_sha = "abc123",
                      .device = "cpu",
                      .device_name = "Some CPU",
                      .dtype = "f32",
                      .kv_cache_dtype = "f32"});
  const std::string text = m.Render();
  EXPECT_EQ(ValueOr(text, "egmla_build_info{git_sha=\"abc123\",version=\"1.2.3\"}"), 1);
  EXPECT_EQ(ValueOr(text,
                    "egmla_device_info{device=\"cpu\",dtype=\"f32\",kv_cache_dtype="
                    "\"f32\",name=\"Some CPU\"}"),
            1);
  EXPECT_EQ(Types(text)["egmla_build_info"], "gauge");
}

TEST(MetricsTest, CallbacksAndScrapesRunConcurrently) {
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  constexpr int kEvents = 2000;
  std::atomic<int64_t> total{0};
  std::thread engine_thread([&] {
    for (int i = 0; i < kEvents; ++i) {
      metrics->OnStep(0.001 * (i % 10), i % 300);
      metrics->OnToken(0.01);
      metrics->OnFinished(FinishReason::kStop, 0.5);
      MetricsSnapshot s;
      s.engine.generation_tokens = total.fetch_add(1) + 1;
      engine.Set(s);
    }
  });
  std::thread grpc_thread([&] {
    for (int i = 0; i < kEvents; ++i) metrics->OnRejected(absl::StatusCode::kUnavailable);
  });
  for (int i = 0; i < 50; ++i) metrics->Render();
  engine_thread.join();
  grpc_thread.join();
  const std::string text = metrics->Render();
  EXPECT_EQ(ValueOr(text, "egmla_step_duration_seconds_count"), kEvents);
  EXPECT_EQ(ValueOr(text, "egmla_inter_token_latency_seconds_count"), kEvents);
  EXPECT_EQ(ValueOr(text, "egmla_requests_finished_total{finish_reason=\"stop\"}"), kEvents);
  EXPECT_EQ(ValueOr(text, "egmla_requests_rejected_total{code=\"unavailable\"}"), kEvents);
  EXPECT_EQ(ValueOr(text, "egmla_generation_tokens_total"), kEvents);
}

// Runs `command`, returns its exit status and appends its output to `output`.
int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  constexpr char kPromtool[] = "/usr/bin/promtool";
  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPromtool << " not found (Debian package `prometheus`)";
  }
  FakeEngine engine;
  auto metrics = MakeMetrics(engine);
  ASSERT_NE(metrics, nullptr);
  MetricsSnapshot s;
  s.engine.running = 2;
  s.engine.prompt_tokens = 10;
  engine.Set(s);
  metrics->OnStep(0.01, 12);
  metrics->OnFirstToken(0.001, 0.02);
  metrics->OnToken(0.01);
  metrics->OnFinished(FinishReason::kAborted, 3);
  metrics->OnRejected(absl::StatusCode::kDataLoss);

  const std::string path = absl::StrCat(testing::TempDir(), "/egmla_metrics_", getpid(), ".prom");
  {
    std::ofstream out(path);
    out << metrics->Render();
  }
  std::string output;
  const int rc = RunCommand(absl::StrCat(kPromtool, " check metrics < ", path, " 2>&1"), &output);
  std::remove(path.c_str());
  EXPECT_EQ(rc, 0) << output;
  EXPECT_EQ(output, "") << "promtool lint findings";
}

}  // namespace
}  // namespace egmla
