// egmla-server (DESIGN §5.1). Flags are defined and parsed here only.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "common/byte_size.h"
#include "common/command_line.h"
#include "server/logging.h"
#include "server/server.h"
#ifdef EGMLA_CUDA_BACKEND
#include "runner/cuda/cuda_backend.h"
#endif
#include "spdlog/spdlog.h"

#ifndef EGMLA_DEFAULT_MODEL_DIR
#define EGMLA_DEFAULT_MODEL_DIR "models/egmla-kjv"
#endif

ABSL_FLAG(std::string, model, EGMLA_DEFAULT_MODEL_DIR, "checkpoint directory");
ABSL_FLAG(std::string, host, "0.0.0.0", "address to listen on");
ABSL_FLAG(int32_t, port, 50051, "gRPC port (0 = any free port)");
ABSL_FLAG(int32_t, metrics_port, 8002, "Prometheus /metrics port (0 = any free port, -1 = off)");
ABSL_FLAG(int32_t, http_port, 8000,
          "OpenAI-compatible HTTP API port (/v1/completions, /v1/chat/completions, /v1/models, "
          "/health); 0 = off");
ABSL_FLAG(std::string, metrics_host, "", "address the metrics port listens on (default: --host)");
ABSL_FLAG(std::string, device, "auto", "auto | cpu | cuda");
ABSL_FLAG(std::string, dtype, "auto", "compute dtype: auto | f32 | bf16 | f16 (auto = f32 on CPU)");
ABSL_FLAG(std::string, kv_cache_dtype, "auto", "KV-cache dtype: auto | f32 | bf16 | f16");
ABSL_FLAG(std::string, kv_cache_memory, "",
          "KV-cache size, e.g. 512MiB, 2GiB (default: 1GiB on CPU; on CUDA what "
          "--gpu-memory-utilization leaves)");
ABSL_FLAG(double, gpu_memory_utilization, 0.9,
          "fraction of the GPU's memory for weights, cache and workspaces");
ABSL_FLAG(int64_t, num_kv_blocks, 0, "KV-cache blocks (overrides --kv-cache-memory)");
ABSL_FLAG(int32_t, block_size, 64, "tokens per KV-cache block");
ABSL_FLAG(int64_t, max_num_seqs, 256, "running requests at most");
ABSL_FLAG(int64_t, max_num_batched_tokens, 8192, "tokens computed per engine step at most");
ABSL_FLAG(int64_t, max_queued_requests, 1024, "waiting requests at most (then RESOURCE_EXHAUSTED)");
ABSL_FLAG(int64_t, max_context, 0, "context limit in tokens (0 = the model's)");
ABSL_FLAG(int64_t, default_max_tokens, 256, "max_tokens of a request that leaves it 0");
ABSL_FLAG(bool, enable_prefix_caching, true, "reuse cached KV blocks of shared prefixes");
ABSL_FLAG(std::string, gate_mode, "auto", "eg_mla gate: auto | table | onthefly");
ABSL_FLAG(std::string, eg_mla_decode, "auto",
          "eg_mla up_projected decode: auto (grouped on CPU, recompute on CUDA) | grouped (per "
          "distinct token id) | recompute (reference)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "how long in-flight streams may run after SIGTERM");
ABSL_FLAG(absl::Duration, engine_stall_timeout, absl::Seconds(60),
          "liveness turns NOT_SERVING when the engine has work and no progress for this long "
          "(0 = never)");
ABSL_FLAG(int32_t, cpu_threads, 0,
          "threads of the CPU ops (0 = the cores this process may use, cgroup quota included)");
ABSL_FLAG(std::string, log_format, "text", "text | json");
ABSL_FLAG(std::string, log_level, "info", "trace | debug | info | warn | error | critical | off");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain (enables TLS with --tls-key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key");
ABSL_FLAG(std::string, api_key_file, "", "file holding the API key clients must send");

namespace {

int Fail(const std::string& message) {
  std::cerr << "egmla-server: " << message << "\n";
  return 1;
}

// Every stream, and every metrics connection, holds a descriptor: thousands of them need more
// than the usual soft limit of 1024, so take the hard limit (as nginx's worker_rlimit_nofile or
// Go's runtime do).
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t was = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("could not raise the open-file limit from {} to {}", was, limit.rlim_max);
  } else {
    spdlog::debug("open-file limit raised from {} to {}", was, limit.rlim_max);
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("egmla-server [flags]: serves egmla.v1.Generation over gRPC");
  const egmla::CommandLine line = egmla::ParseCommandLine(argc, argv);
  if (!line.positional.empty()) {
    return Fail("unexpected argument '" + line.positional[0] + "'");
  }

  if (absl::Status st =
          egmla::SetUpLogging(absl::GetFlag(FLAGS_log_format), absl::GetFlag(FLAGS_log_level));
      !st.ok()) {
    return Fail(std::string(st.message()));
  }
  // Empty: not given (the executor's default).
  const std::string kv_flag = absl::GetFlag(FLAGS_kv_cache_memory);
  const std::optional<int64_t> kv_bytes =
      kv_flag.empty() ? std::optional<int64_t>(0) : egmla::ParseByteSize(kv_flag);
  if (!kv_bytes) {
    return Fail("--kv-cache-memory: '" + kv_flag +
                "' is not a size (e.g. 1073741824, 512MiB, 2GiB)");
  }
  if (!kv_flag.empty() && *kv_bytes <= 0) return Fail("--kv-cache-memory: must be positive");
  egmla::ServerOptions options{
      .model_dir = absl::GetFlag(FLAGS_model),
      .host = absl::GetFlag(FLAGS_host),
      .port = absl::GetFlag(FLAGS_port),
      .metrics_port = absl::GetFlag(FLAGS_metrics_port),
      .metrics_host = absl::GetFlag(FLAGS_metrics_host),
      .http_port = absl::GetFlag(FLAGS_http_port),
      .device = absl::GetFlag(FLAGS_device),
      .dtype = absl::GetFlag(FLAGS_dtype),
      .kv_cache_dtype = absl::GetFlag(FLAGS_kv_cache_dtype),
      .kv_cache_memory_bytes = *kv_bytes,
      .gpu_memory_utilization = absl::GetFlag(FLAGS_gpu_memory_utilization),
      .num_kv_blocks = absl::GetFlag(FLAGS_num_kv_blocks),
      .block_size = absl::GetFlag(FLAGS_block_size),
      .max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs),
      .max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens),
      .max_queued_requests = absl::GetFlag(FLAGS_max_queued_requests),
      .max_context = absl::GetFlag(FLAGS_max_context),
      .default_max_tokens = absl::GetFlag(FLAGS_default_max_tokens),
      .enable_prefix_caching = absl::GetFlag(FLAGS_enable_prefix_caching),
      .gate_mode = absl::GetFlag(FLAGS_gate_mode),
      .eg_mla_decode = absl::GetFlag(FLAGS_eg_mla_decode),
      .drain_timeout = absl::GetFlag(FLAGS_drain_timeout),
      .engine_stall_timeout = absl::GetFlag(FLAGS_engine_stall_timeout),
      .cpu_threads = absl::GetFlag(FLAGS_cpu_threads),
      .tls_cert = absl::GetFlag(FLAGS_tls_cert),
      .tls_key = absl::GetFlag(FLAGS_tls_key),
      .api_key_file = absl::GetFlag(FLAGS_api_key_file)};

  // SIGTERM and SIGINT are taken by sigwait below, so every thread must block them; threads
  // inherit the mask, so block before any is created.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  RaiseOpenFileLimit();
#ifdef EGMLA_CUDA_BACKEND
  // --device cuda: the CUDA runtime's backend, or the SIMT emulator's in egmla-server-emu.
  egmla::RegisterCudaBackend(egmla::cuda::TheCudaBackend());
#endif
#ifdef EGMLA_EMULATED_DEVICE
  // The emulated device's memory is host memory, filled at allocation: 1 GiB unless the
  // environment says otherwise, so that --gpu-memory-utilization's default does not take 7 GiB of
  // the host for a cache a test never fills.
  setenv("EGMLA_EMU_DEVICE_MEMORY", "1073741824", /*overwrite=*/0);
#endif
  absl::StatusOr<std::unique_ptr<egmla::Server>> server = egmla::Server::Start(options);
  if (!server.ok()) return Fail(std::string(server.status().message()));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  // A device that failed for good raises SIGTERM itself (Server::failed): drain, exit non-zero.
  const bool failed = (*server)->failed();
  if (!failed) spdlog::info("received {}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Drain();
  server->reset();
  return failed ? 1 : 0;
}
