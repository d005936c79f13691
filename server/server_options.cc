#include "server/server_options.h"

#include "absl/strings/str_cat.h"
#include "model/eg_mla_grouped.h"

namespace egmla {
namespace {

absl::Status Bad(const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

bool OneOf(const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* c : choices) {
    if (value == c) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateServerOptions(const ServerOptions& o) {
  if (o.model_dir.empty()) return Bad("model", "required");
  if (o.port < 0 || o.port > 65535) return Bad("port", absl::StrCat("not a port: ", o.port));
  if (o.metrics_port < -1 || o.metrics_port > 65535) {
    return Bad("metrics-port", absl::StrCat("not a port: ", o.metrics_port));
  }
  if (o.port != 0 && o.port == o.metrics_port) {
    return Bad("metrics-port", "must differ from --port");
  }
  if (o.http_port < 0 || o.http_port > 65535) {
    return Bad("http-port", absl::StrCat("not a port (0 = off): ", o.http_port));
  }
  if (o.http_port != 0 && (o.http_port == o.port || o.http_port == o.metrics_port)) {
    return Bad("http-port", "must differ from --port and --metrics-port");
  }
  // Which devices and dtypes serve is the executor's business (runner/make_executor.h: --device
  // is checked there alone); here only the dtypes' spelling.
  if (!OneOf(o.dtype, {"auto", "f32", "bf16", "f16"})) {
    return Bad("dtype", absl::StrCat("'", o.dtype, "' is not one of auto, f32, bf16, f16"));
  }
  if (!OneOf(o.kv_cache_dtype, {"auto", "f32", "bf16", "f16"})) {
    return Bad("kv-cache-dtype",
               absl::StrCat("'", o.kv_cache_dtype, "' is not one of auto, f32, bf16, f16"));
  }
  if (o.kv_cache_memory_bytes < 0) return Bad("kv-cache-memory", "must be positive");
  if (!(o.gpu_memory_utilization > 0 && o.gpu_memory_utilization <= 1)) {
    return Bad("gpu-memory-utilization", "must be in (0, 1]");
  }
  if (o.num_kv_blocks < 0) return Bad("num-kv-blocks", "must be >= 0");
  if (o.block_size < 1 || o.block_size > 4096) return Bad("block-size", "must be in [1, 4096]");
  if (o.max_num_seqs < 1) return Bad("max-num-seqs", "must be >= 1");
  if (o.max_num_batched_tokens < 1) return Bad("max-num-batched-tokens", "must be >= 1");
  if (o.max_queued_requests < 1) return Bad("max-queued-requests", "must be >= 1");
  if (o.max_context < 0) return Bad("max-context", "must be >= 0 (0 = the model's)");
  if (o.default_max_tokens < 1) return Bad("default-max-tokens", "must be >= 1");
  if (!OneOf(o.gate_mode, {"auto", "table", "onthefly"})) {
    return Bad("gate-mode",
               absl::StrCat("'", o.gate_mode, "' is not one of auto, table, onthefly"));
  }
  if (o.eg_mla_decode != "auto" && !ParseEgMlaDecode(o.eg_mla_decode)) {
    return Bad("eg-mla-decode",
               absl::StrCat("'", o.eg_mla_decode, "' is not one of auto, grouped, recompute"));
  }
  if (o.drain_timeout < absl::ZeroDuration()) return Bad("drain-timeout", "must be >= 0");
  if (o.cpu_threads < 0) return Bad("cpu-threads", "must be >= 0 (0 = the usable cores)");
  if (o.engine_stall_timeout < absl::ZeroDuration()) {
    return Bad("engine-stall-timeout", "must be >= 0 (0 = off)");
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Bad(o.tls_cert.empty() ? "tls-cert" : "tls-key", "--tls-cert and --tls-key go together");
  }
  return absl::OkStatus();
}

}  // namespace egmla
