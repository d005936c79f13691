// Prometheus metrics of the server (DESIGN §7): gauges and counters pulled from an engine snapshot
// at scrape time, histograms and event counters pushed by the engine's observer callbacks and by
// the gRPC layer (rejections). prometheus-cpp keeps the registry and writes the text format;
// server/metrics_endpoint.h serves it over HTTP at /metrics.
#ifndef EGMLA_SERVER_METRICS_H_
#define EGMLA_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/finish_reason.h"
#include "engine/engine_stats.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace egmla {

// What the exporter reads at each scrape.
struct MetricsSnapshot {
  EngineStats engine;
  bool draining = false;
  int64_t kv_cache_elements_per_token = 0;
  int64_t kv_cache_bytes_per_token = 0;
  int64_t gate_table_bytes = 0;
};

// The labels of egmla_build_info and egmla_device_info (DESIGN §7); fixed for a server's life.
struct MetricsInfo {
  std::string version;         // EGMLA_VERSION
  std::string git_sha;         // the commit built, "unknown" outside a git checkout
  std::string device = "cpu";  // "cpu" | "cuda:N"
  std::string device_name;     // e.g. the CPU model
  std::string dtype = "f32";
  std::string kv_cache_dtype = "f32";
  // egmla_device_memory_bytes{use}: device memory by use (weights, kv_cache, workspace); empty
  // on the CPU (no series).
  std::vector<std::pair<std::string, int64_t>> device_memory_bytes;
};

// The gRPC code name in lower case ("invalid_argument", "unavailable", ...), the `code` label of
// egmla_requests_rejected_total. A value outside absl::StatusCode is "unknown".
const char* StatusCodeMetricName(absl::StatusCode code);

// Upper bounds of the latency histograms, in seconds: 1 ms ... 600 s, ×2–2.5 per bucket.
const std::vector<double>& LatencyBucketsSeconds();
// Upper bounds of egmla_step_batch_tokens: 1, 2, 4, ..., 16384.
const std::vector<double>& BatchTokenBuckets();

// Thread-safe. The observer callbacks only touch atomics and per-histogram locks, never the
// snapshot callback, so the engine may call them while holding its own locks.
class Metrics : public EngineObserver {
 public:
  // `snapshot` is called at every Render(), one call at a time; it may be empty (gauges then
  // stay 0). Whatever it reads must outlive every Render() call: whoever serves Render() over
  // HTTP stops that before destroying what the snapshot reads.
  explicit Metrics(std::function<MetricsSnapshot()> snapshot, const MetricsInfo& info = {});

  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // EngineObserver. NaN values are dropped and negative durations count as 0.
  void OnStep(double seconds, int64_t batch_tokens) override;
  void OnFirstToken(double queue_seconds, double time_to_first_token_seconds) override;
  void OnToken(double inter_token_seconds) override;
  void OnFinished(FinishReason reason, double total_seconds) override;  // kNone is ignored

  // A call refused with `code` before reaching the engine. absl::StatusCode::kOk is ignored.
  void OnRejected(absl::StatusCode code);

  // An HTTP request of the OpenAI-compatible API answered (egmla_http_requests_total);
  // `endpoint` is a route or "other", bounded by the caller.
  void OnHttpRequest(const std::string& endpoint, int status);

  // Refreshes from the snapshot and returns the text exposition format (what /metrics serves).
  std::string Render();

 private:
  // Pulls the snapshot, sets the gauges and advances the snapshot-fed counters by delta.
  void Refresh();

  std::function<MetricsSnapshot()> snapshot_;
  std::shared_ptr<prometheus::Registry> registry_;

  // Snapshot-fed gauges.
  prometheus::Gauge* requests_running_ = nullptr;
  prometheus::Gauge* requests_waiting_ = nullptr;
  prometheus::Gauge* kv_cache_usage_ratio_ = nullptr;
  prometheus::Gauge* kv_cache_blocks_used_ = nullptr;
  prometheus::Gauge* kv_cache_blocks_cached_ = nullptr;
  prometheus::Gauge* kv_cache_blocks_free_ = nullptr;
  prometheus::Gauge* kv_cache_bytes_per_token_ = nullptr;
  prometheus::Gauge* kv_cache_elements_per_token_ = nullptr;
  prometheus::Gauge* gate_table_bytes_ = nullptr;
  prometheus::Gauge* draining_ = nullptr;

  // Snapshot-fed counters, advanced by the growth of the engine's totals.
  prometheus::Counter* prompt_tokens_ = nullptr;
  prometheus::Counter* generation_tokens_ = nullptr;
  prometheus::Counter* prefix_cache_queries_ = nullptr;
  prometheus::Counter* prefix_cache_hits_ = nullptr;
  prometheus::Counter* preemptions_ = nullptr;

  // Event counters.
  std::array<prometheus::Counter*, 6> finished_{};  // indexed by FinishReason
  prometheus::Family<prometheus::Counter>* rejected_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* http_requests_family_ = nullptr;
  std::array<prometheus::Counter*, 17> rejected_{};  // indexed by absl::StatusCode; pre-created

  // Histograms.
  prometheus::Histogram* step_duration_ = nullptr;
  prometheus::Histogram* step_batch_tokens_ = nullptr;
  prometheus::Histogram* queue_time_ = nullptr;
  prometheus::Histogram* time_to_first_token_ = nullptr;
  prometheus::Histogram* inter_token_latency_ = nullptr;
  prometheus::Histogram* e2e_request_latency_ = nullptr;

  std::mutex refresh_mu_;  // one Refresh at a time; guards last_
  EngineStats last_;       // the totals already added to the counters
};

}  // namespace egmla

#endif  // EGMLA_SERVER_METRICS_H_
