// Everything egmla-server's flags (DESIGN §5.1) decide, parsed in main and validated once.
#ifndef EGMLA_SERVER_SERVER_OPTIONS_H_
#define EGMLA_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace egmla {

struct ServerOptions {
  std::string model_dir;
  std::string host = "0.0.0.0";
  int32_t port = 50051;         // 0 = any free port (tests)
  int32_t metrics_port = 8002;  // 0 = any free port; -1 = no metrics listener
  std::string metrics_host;     // empty = `host`
  int32_t http_port = 8000;     // the OpenAI-compatible API; 0 = off
  std::string device = "auto";  // auto | cpu | cuda
  std::string dtype = "auto";   // auto | f32 | bf16 | f16
  std::string kv_cache_dtype = "auto";
  // 0 = not given: 1 GiB on the CPU; on CUDA what --gpu-memory-utilization leaves.
  int64_t kv_cache_memory_bytes = 0;
  double gpu_memory_utilization = 0.9;
  int64_t num_kv_blocks = 0;  // > 0 overrides the memory-based sizing
  int32_t block_size = 64;
  int64_t max_num_seqs = 256;
  int64_t max_num_batched_tokens = 8192;
  int64_t max_queued_requests = 1024;
  int64_t max_context = 0;  // 0 = the model's
  int64_t default_max_tokens = 256;
  bool enable_prefix_caching = true;
  std::string gate_mode = "auto";  // auto | table | onthefly
  // eg_mla up_projected: auto (grouped on the CPU, recompute on CUDA) | grouped | recompute.
  std::string eg_mla_decode = "auto";
  absl::Duration drain_timeout = absl::Seconds(30);
  // Liveness turns NOT_SERVING when the engine has work and no progress for this long; 0 = off.
  absl::Duration engine_stall_timeout = absl::Seconds(60);
  int32_t cpu_threads = 0;  // 0 = the cores the process may use
  std::string tls_cert;
  std::string tls_key;
  std::string api_key_file;
};

// INVALID_ARGUMENT naming the flag for a value out of range or a combination that cannot work
// (a TLS key without a certificate, cuda on a CPU-only build, ...).
absl::Status ValidateServerOptions(const ServerOptions& options);

}  // namespace egmla

#endif  // EGMLA_SERVER_SERVER_OPTIONS_H_
