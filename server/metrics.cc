#include "server/metrics.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace egmla {
namespace {

constexpr FinishReason kFinishReasons[] = {FinishReason::kLength, FinishReason::kStop,
                                           FinishReason::kStopSequence, FinishReason::kAborted,
                                           FinishReason::kContextLimit};

// The codes DESIGN §5 refuses a call with: their series exist (at 0) from the start.
constexpr absl::StatusCode kMainRejectionCodes[] = {
    absl::StatusCode::kInvalidArgument,    absl::StatusCode::kAlreadyExists,
    absl::StatusCode::kResourceExhausted,  absl::StatusCode::kUnavailable,
    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnauthenticated,
};

// Durations as observed: NaN is dropped (returns false), negatives (clock steps) count as 0.
bool CleanSeconds(double& seconds) {
  if (std::isnan(seconds)) return false;
  seconds = std::max(seconds, 0.0);
  return true;
}

// A monotone engine total that grew from `last` to `now` (a shrink — not expected — adds 0).
double Delta(int64_t now, int64_t last) {
  return now > last ? static_cast<double>(now - last) : 0.0;
}

}  // namespace

const char* StatusCodeMetricName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    case absl::StatusCode::kUnknown:
      return "unknown";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kAlreadyExists:
      return "already_exists";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case absl::StatusCode::kAborted:
      return "aborted";
    case absl::StatusCode::kOutOfRange:
      return "out_of_range";
    case absl::StatusCode::kUnimplemented:
      return "unimplemented";
    case absl::StatusCode::kInternal:
      return "internal";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDataLoss:
      return "data_loss";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    default:
      break;
  }
  return "unknown";
}

const std::vector<double>& LatencyBucketsSeconds() {
  static const std::vector<double>* const kBuckets =
      new std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                              1,     2.5,    5,     10,   25,    50,   100, 250,  600};
  return *kBuckets;
}

const std::vector<double>& BatchTokenBuckets() {
  static const std::vector<double>* const kBuckets = [] {
    auto* b = new std::vector<double>;
    for (int64_t v = 1; v <= 16384; v *= 2) b->push_back(static_cast<double>(v));
    return b;
  }();
  return *kBuckets;
}

Metrics::Metrics(std::function<MetricsSnapshot()> snapshot, const MetricsInfo& info)
    : snapshot_(std::move(snapshot)), registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  auto gauge = [&r](const std::string& name, const std::string& help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
  };
  auto counter = [&r](const std::string& name, const std::string& help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
  };
  auto histogram = [&r](const std::string& name, const std::string& help,
                        const std::vector<double>& buckets) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, buckets);
  };

  prometheus::BuildGauge()
      .Name("egmla_build_info")
      .Help("Always 1; the labels say which build of egmla-serve this is.")
      .Register(r)
      .Add({{"version", info.version}, {"git_sha", info.git_sha}})
      .Set(1);
  prometheus::BuildGauge()
      .Name("egmla_device_info")
      .Help("Always 1; the labels say what the model runs on and at which dtypes.")
      .Register(r)
      .Add({{"device", info.device},
            {"name", info.device_name},
            {"dtype", info.dtype},
            {"kv_cache_dtype", info.kv_cache_dtype}})
      .Set(1);
  if (!info.device_memory_bytes.empty()) {
    auto& memory = prometheus::BuildGauge()
                       .Name("egmla_device_memory_bytes")
                       .Help("Device memory the server holds, by use.")
                       .Register(r);
    for (const auto& [use, bytes] : info.device_memory_bytes) {
      memory.Add({{"use", use}}).Set(static_cast<double>(bytes));
    }
  }

  requests_running_ =
      gauge("egmla_requests_running", "Requests in the running batch (holding KV-cache blocks).");
  requests_waiting_ = gauge("egmla_requests_waiting", "Requests queued, waiting to be scheduled.");
  kv_cache_usage_ratio_ = gauge("egmla_kv_cache_usage_ratio",
                                "KV-cache blocks held by live requests / all blocks (0 to 1; "
                                "prefix-cached free blocks count as free).");
  auto& blocks = prometheus::BuildGauge()
                     .Name("egmla_kv_cache_blocks")
                     .Help(
                         "KV-cache blocks by state, a partition of all blocks: used = held by "
                         "live requests, cached = free but holding a reusable prefix, free = "
                         "neither.")
                     .Register(r);
  kv_cache_blocks_used_ = &blocks.Add({{"state", "used"}});
  kv_cache_blocks_cached_ = &blocks.Add({{"state", "cached"}});
  kv_cache_blocks_free_ = &blocks.Add({{"state", "free"}});
  kv_cache_bytes_per_token_ = gauge("egmla_kv_cache_bytes_per_token",
                                    "KV-cache bytes stored per token, all layers, at the cache "
                                    "dtype.");
  kv_cache_elements_per_token_ = gauge("egmla_kv_cache_elements_per_token",
                                       "KV-cache elements (scalars) stored per token, all layers.");
  gate_table_bytes_ = gauge("egmla_gate_table_bytes",
                            "Bytes of the precomputed EG-MLA gate table (0 when gates are "
                            "computed on the fly or the model has none).");
  draining_ = gauge("egmla_draining", "1 while the server drains (SIGTERM/SIGINT), else 0.");

  prompt_tokens_ =
      counter("egmla_prompt_tokens_total",
              "Prompt tokens of scheduled requests (each request once, when first scheduled).");
  generation_tokens_ = counter("egmla_generation_tokens_total", "Tokens generated.");
  prefix_cache_queries_ =
      counter("egmla_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.");
  prefix_cache_hits_ = counter("egmla_prefix_cache_hits_total",
                               "Prompt tokens found in the prefix cache (not recomputed).");
  preemptions_ = counter("egmla_preemptions_total",
                         "Running requests preempted (blocks freed, recomputed later) for lack "
                         "of KV-cache blocks.");

  auto& finished = prometheus::BuildCounter()
                       .Name("egmla_requests_finished_total")
                       .Help("Requests finished, by finish reason.")
                       .Register(r);
  static_assert(static_cast<size_t>(FinishReason::kContextLimit) <
                std::size(decltype(finished_){}));
  for (FinishReason reason : kFinishReasons) {
    finished_[static_cast<size_t>(reason)] =
        &finished.Add({{"finish_reason", FinishReasonName(reason)}});
  }
  http_requests_family_ =
      &prometheus::BuildCounter()
           .Name("egmla_http_requests_total")
           .Help(
               "Requests of the OpenAI-compatible HTTP API, by endpoint and HTTP status (499: "
               "the client left before the answer)")
           .Register(*registry_);
  rejected_family_ = &prometheus::BuildCounter()
                          .Name("egmla_requests_rejected_total")
                          .Help(
                              "Calls refused before reaching the engine, by gRPC status code "
                              "(lower case).")
                          .Register(r);
  for (absl::StatusCode code : kMainRejectionCodes) {
    rejected_[static_cast<size_t>(code)] =
        &rejected_family_->Add({{"code", StatusCodeMetricName(code)}});
  }

  const std::vector<double>& seconds = LatencyBucketsSeconds();
  step_duration_ = histogram("egmla_step_duration_seconds",
                             "Duration of one engine step (schedule, forward, sample).", seconds);
  step_batch_tokens_ =
      histogram("egmla_step_batch_tokens",
                "Tokens (prefill and decode) computed in one engine step.", BatchTokenBuckets());
  queue_time_ =
      histogram("egmla_queue_time_seconds", "Time from arrival to first being scheduled.", seconds);
  time_to_first_token_ = histogram("egmla_time_to_first_token_seconds",
                                   "Time from arrival to the first generated token.", seconds);
  inter_token_latency_ =
      histogram("egmla_inter_token_latency_seconds",
                "Time between consecutive generated tokens of a request.", seconds);
  e2e_request_latency_ = histogram("egmla_e2e_request_latency_seconds",
                                   "Time from arrival to finish, any finish reason.", seconds);
}

Metrics::~Metrics() = default;

void Metrics::OnStep(double seconds, int64_t batch_tokens) {
  if (CleanSeconds(seconds)) step_duration_->Observe(seconds);
  step_batch_tokens_->Observe(static_cast<double>(std::max<int64_t>(batch_tokens, 0)));
}

void Metrics::OnFirstToken(double queue_seconds, double time_to_first_token_seconds) {
  if (CleanSeconds(queue_seconds)) queue_time_->Observe(queue_seconds);
  if (CleanSeconds(time_to_first_token_seconds)) {
    time_to_first_token_->Observe(time_to_first_token_seconds);
  }
}

void Metrics::OnToken(double inter_token_seconds) {
  if (CleanSeconds(inter_token_seconds)) inter_token_latency_->Observe(inter_token_seconds);
}

void Metrics::OnFinished(FinishReason reason, double total_seconds) {
  const auto index = static_cast<size_t>(reason);
  if (index >= finished_.size() || finished_[index] == nullptr) return;
  finished_[index]->Increment();
  if (CleanSeconds(total_seconds)) e2e_request_latency_->Observe(total_seconds);
}

void Metrics::OnHttpRequest(const std::string& endpoint, int status) {
  // Family::Add is locked and returns the existing series after the first time.
  http_requests_family_->Add({{"endpoint", endpoint}, {"status", std::to_string(status)}})
      .Increment();
}

void Metrics::OnRejected(absl::StatusCode code) {
  if (code == absl::StatusCode::kOk) return;
  const auto index = static_cast<size_t>(code);
  if (index < rejected_.size() && rejected_[index] != nullptr) {
    rejected_[index]->Increment();
    return;
  }
  // A rarer code: Family::Add is locked and returns the existing series after the first time.
  rejected_family_->Add({{"code", StatusCodeMetricName(code)}}).Increment();
}

void Metrics::Refresh() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  if (!snapshot_) return;
  const MetricsSnapshot s = snapshot_();
  const EngineStats& e = s.engine;

  requests_running_->Set(static_cast<double>(e.running));
  requests_waiting_->Set(static_cast<double>(e.waiting));
  kv_cache_usage_ratio_->Set(e.kv_cache_usage);
  kv_cache_blocks_used_->Set(static_cast<double>(e.used_blocks));
  kv_cache_blocks_cached_->Set(static_cast<double>(e.cached_blocks));
  kv_cache_blocks_free_->Set(static_cast<double>(e.free_blocks));
  kv_cache_bytes_per_token_->Set(static_cast<double>(s.kv_cache_bytes_per_token));
  kv_cache_elements_per_token_->Set(static_cast<double>(s.kv_cache_elements_per_token));
  gate_table_bytes_->Set(static_cast<double>(s.gate_table_bytes));
  draining_->Set(s.draining ? 1.0 : 0.0);

  prompt_tokens_->Increment(Delta(e.prompt_tokens, last_.prompt_tokens));
  generation_tokens_->Increment(Delta(e.generation_tokens, last_.generation_tokens));
  prefix_cache_queries_->Increment(
      Delta(e.prefix_cache_query_tokens, last_.prefix_cache_query_tokens));
  prefix_cache_hits_->Increment(Delta(e.prefix_cache_hit_tokens, last_.prefix_cache_hit_tokens));
  preemptions_->Increment(Delta(e.preemptions, last_.preemptions));
  last_ = e;
}

std::string Metrics::Render() {
  Refresh();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace egmla
