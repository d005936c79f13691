#include "server/server.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/api_key.h"
#include "common/regular_file.h"
#include "common/status.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_posix.h"
#include "kernels/cpu/cpu_threads.h"
#include "model/gate.h"
#include "model/kv_size.h"
#include "runner/make_executor.h"
#include "server/build_info.h"
#include "server/metrics_endpoint.h"
#include "spdlog/spdlog.h"

namespace egmla {
namespace {

// Responses: a chunk with top logprobs is a few KiB; this only guards against a bug.
constexpr int kMaxSendMessageBytes = 64 << 20;

// The most bytes of metadata (headers) a call may carry. gRPC 1.51's default (8 KiB) is low for
// long bearer tokens and tracing headers, and a call over it fails other calls on the same
// connection too (docs/api.md, "Limits"), so be generous: ample for any real client.
constexpr int kMaxMetadataBytes = 64 << 10;

// How long a drain waits for the first call of connections accepted before the listener closed.
// Behind a load balancer the call follows its connect within milliseconds; a client that
// connected and sent nothing only delays the GOAWAY by this much.
constexpr absl::Duration kFirstCallWait = absl::Seconds(1);

// The least time from readiness NOT_SERVING to GOAWAY. A client that saw NOT_SERVING and calls
// again at once on its open connection gets the service's UNAVAILABLE in this window; a call
// arriving just as Shutdown() starts is cancelled by gRPC instead (CANCELLED), so this keeps
// that instant away from the prompt ones.
constexpr absl::Duration kMinTimeBeforeGoaway = absl::Milliseconds(250);

// How long client connections may stay open after the last call ended before the drain closes
// them. gRPC's Shutdown() returns only when every connection is gone, and a client that is not
// polling its connection (a Python channel between calls) reads the GOAWAY only when it next
// sends, seconds later. Long enough for the last final status to reach its client.
constexpr absl::Duration kIdleConnectionGrace = absl::Seconds(1);

// A TLS file named by --FLAG, through ReadRegularFile (a FIFO or a directory is refused).
absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", text.status().message()));
  }
  return text;
}

// "cpu" or "cuda:0" (DESIGN §5: ModelInfo.device, the egmla_device_info label).
std::string DeviceLabel(const ExecutorInfo& info) {
  return info.device == "cuda" ? "cuda:0" : info.device;
}

// The gate tables' bytes as the executor holds them: fp32 on the CPU, bf16 on CUDA.
int64_t GateTableBytesOn(const ExecutorInfo& info, const ModelConfig& c, GateMode mode) {
  return GateTableBytes(c, info.dtype == "bf16" ? DType::kBF16 : DType::kF32, mode);
}

v1::ModelInfo DescribeModel(const ServerOptions& o, const Engine& engine, GateMode gate_mode,
                            bool has_tokenizer) {
  const Executor& executor = engine.executor();
  const ModelConfig& c = executor.model_config();
  const CacheSpec spec = executor.cache_spec();
  const ExecutorInfo device = executor.info();
  v1::ModelInfo info;
  info.set_model_name(std::filesystem::path(o.model_dir).lexically_normal().filename().string());
  if (info.model_name().empty()) {
    info.set_model_name(
        std::filesystem::path(o.model_dir).lexically_normal().parent_path().filename().string());
  }
  info.set_attention_type(std::string(AttentionTypeName(c.attention_type)));
  info.set_num_layers(static_cast<uint32_t>(c.num_hidden_layers));
  info.set_hidden_size(static_cast<uint32_t>(c.hidden_size));
  info.set_num_heads(static_cast<uint32_t>(c.num_attention_heads));
  info.set_vocab_size(static_cast<uint32_t>(c.vocab_size));
  info.set_kv_lora_rank(static_cast<uint32_t>(c.kv_lora_rank));
  info.set_qk_rope_head_dim(static_cast<uint32_t>(c.qk_rope_head_dim));
  info.set_max_context_tokens(static_cast<uint32_t>(engine.max_context_tokens()));
  info.set_kv_cache_elements_per_token(static_cast<uint64_t>(spec.elements_per_token()));
  info.set_kv_cache_bytes_per_token(static_cast<uint64_t>(spec.bytes_per_token()));
  info.set_block_size(static_cast<uint32_t>(executor.block_size()));
  info.set_num_blocks(static_cast<uint64_t>(executor.num_blocks()));
  info.set_gate_table_bytes(static_cast<uint64_t>(GateTableBytesOn(device, c, gate_mode)));
  info.set_device(DeviceLabel(device));
  info.set_device_name(device.device_name);
  info.set_dtype(device.dtype);
  info.set_kv_cache_dtype(device.kv_cache_dtype);
  // Which decode serves eg_mla up_projected; empty for the other attention types.
  info.set_eg_mla_decode(device.eg_mla_decode);
  info.set_has_tokenizer(has_tokenizer);
  return info;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  EGMLA_RETURN_IF_ERROR(ValidateServerOptions(options));
  // Before the first op (model loading runs ops): the pool's size is fixed at its first use.
  if (options.cpu_threads > 0) ops::SetCpuThreads(options.cpu_threads);
  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  const ServerOptions& o = server->options_;

  std::string api_key;
  if (!o.api_key_file.empty()) {
    EGMLA_ASSIGN_OR_RETURN(api_key, ReadApiKeyFile("--api-key-file", o.api_key_file));
  }

  // The model.
  EGMLA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(o.model_dir + "/config.json"));
  EGMLA_ASSIGN_OR_RETURN(GateMode gate_mode,
                         ResolveGateMode(o.gate_mode, config,
                                         o.kv_cache_memory_bytes > 0 ? o.kv_cache_memory_bytes
                                                                     : kDefaultCpuKvCacheBytes));
  // The CPU model's decode; the CUDA runner has its own (runner/make_executor.h).
  const EgMlaDecode decode =
      o.eg_mla_decode == "auto" ? EgMlaDecode::kGrouped : *ParseEgMlaDecode(o.eg_mla_decode);
  EGMLA_ASSIGN_OR_RETURN(
      server->model_,
      Model::Load(o.model_dir, config, {.gate_mode = gate_mode, .eg_mla_decode = decode}));
  const Model& model = *server->model_;
  EGMLA_ASSIGN_OR_RETURN(server->tokenizer_, LoadModelTokenizer(o.model_dir));
  const Tokenizer* tokenizer = server->tokenizer_.get();
  // The executor that serves (--device, --dtype, --kv-cache-dtype, the cache's size) and its
  // cache: what ModelInfo and the metrics report come from it.
  std::string device_choice;
  EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<Executor> executor,
                         MakeExecutor(model,
                                      {.device = o.device,
                                       .dtype = o.dtype,
                                       .kv_cache_dtype = o.kv_cache_dtype,
                                       .kv_cache_memory_bytes = o.kv_cache_memory_bytes,
                                       .num_kv_blocks = o.num_kv_blocks,
                                       .gpu_memory_utilization = o.gpu_memory_utilization,
                                       .block_size = o.block_size,
                                       .max_num_seqs = o.max_num_seqs,
                                       .max_num_batched_tokens = o.max_num_batched_tokens,
                                       .max_context = o.max_context,
                                       .eg_mla_decode = o.eg_mla_decode},
                                      &device_choice));
  spdlog::info("{}", device_choice);
  const CacheSpec spec = executor->cache_spec();
  const ExecutorInfo device = executor->info();

  // Metrics first: the engine reports to them from its first step. The snapshot reads engine_
  // and context_: it runs only on the metrics HTTP server, which starts after both are set and
  // stops before either goes (~Server).
  const int64_t gate_table_bytes = GateTableBytesOn(device, config, gate_mode);
  Server* raw = server.get();
  server->metrics_ = std::make_unique<Metrics>(
      [raw, spec, gate_table_bytes]() {
        MetricsSnapshot s;
        s.engine = raw->engine_->Stats();
        s.draining = raw->context_->draining();
        s.kv_cache_elements_per_token = spec.elements_per_token();
        s.kv_cache_bytes_per_token = spec.bytes_per_token();
        s.gate_table_bytes = gate_table_bytes;
        return s;
      },
      MetricsInfo{.version = kBuildVersion,
                  .git_sha = kBuildGitSha,
                  .device = DeviceLabel(device),
                  .device_name = device.device_name,
                  .dtype = device.dtype,
                  .kv_cache_dtype = device.kv_cache_dtype,
                  .device_memory_bytes = executor->device_memory_bytes()});

  SchedulerConfig scheduler{.max_num_seqs = o.max_num_seqs,
                            .max_num_batched_tokens = o.max_num_batched_tokens,
                            .max_queued_requests = o.max_queued_requests,
                            .block_size = static_cast<int32_t>(executor->block_size()),
                            .num_blocks = executor->num_blocks(),
                            .enable_prefix_caching = o.enable_prefix_caching};
  EGMLA_RETURN_IF_ERROR(ValidateSchedulerConfig(scheduler));
  server->engine_ = std::make_unique<Engine>(
      std::move(executor),
      EngineConfig{.scheduler = scheduler,
                   .max_context_tokens = o.max_context,
                   // Requests reach the engine only through the gRPC server, which is serving
                   // by then: the callback finds grpc_server_ set.
                   .on_executor_failed =
                       [raw](const absl::Status& error) {
                         spdlog::critical("{}; health NOT_SERVING, exiting for a restart",
                                          std::string(error.message()));
                         raw->failed_ = true;
                         auto* health = raw->grpc_server_->GetHealthCheckService();
                         health->SetServingStatus(kReadinessService, false);
                         health->SetServingStatus(kLivenessService, false);
                         kill(getpid(), SIGTERM);  // main's sigwait drains and exits 1
                       }},
      server->metrics_.get(), tokenizer);
  const int64_t max_context = server->engine_->max_context_tokens();

  Metrics* metrics = server->metrics_.get();
  const ValidationLimits limits{
      .vocab_size = config.vocab_size,
      .max_context_tokens = max_context,
      .default_max_tokens = o.default_max_tokens,
      .tokenizer = tokenizer,
      .text_prefix_token_id = config.text_prefix_token_id(),
      .max_text_bytes = tokenizer ? MaxTextBytes(max_context, tokenizer->max_token_bytes()) : 0};
  server->context_ = std::make_unique<ServiceContext>(
      server->engine_.get(), DescribeModel(o, *server->engine_, gate_mode, tokenizer != nullptr),
      limits, api_key, [metrics](absl::StatusCode code) { metrics->OnRejected(code); });
  server->service_ = std::make_unique<GenerationService>(server->context_.get());

  if (o.metrics_port >= 0) {
    absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
        {.host = o.metrics_host.empty() ? o.host : o.metrics_host, .port = o.metrics_port},
        MetricsHttpHandler(server->metrics_.get()));
    if (!http.ok()) {
      return absl::Status(http.status().code(),
                          absl::StrCat("--metrics-port: ", http.status().message()));
    }
    server->metrics_http_ = *std::move(http);
  }

  // The gRPC server.
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!o.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    EGMLA_ASSIGN_OR_RETURN(pair.private_key, ReadFlagFile("tls-key", o.tls_key));
    EGMLA_ASSIGN_OR_RETURN(pair.cert_chain, ReadFlagFile("tls-cert", o.tls_cert));
    ssl.pem_key_cert_pairs.push_back(pair);
    credentials = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(o.host, ":", o.port);
  if (o.tls_cert.empty()) {
    // Plaintext: our own listener, so that a drain loses no call (server/listener.h).
    EGMLA_ASSIGN_OR_RETURN(server->listener_, Listener::Open(o.host, o.port));
    server->port_ = server->listener_->port();
  } else {
    builder.AddListeningPort(address, credentials, &server->port_);
    // Without this gRPC sets SO_REUSEPORT and a second server on the same port would start and
    // share its connections.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  }
  builder.RegisterService(server->service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> reporters;
  reporters.push_back(server->context_->drain_gate().MakeInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(reporters));
  // A message larger than the largest request these limits accept is refused by gRPC
  // (RESOURCE_EXHAUSTED) before it is parsed.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(MaxGenerateRequestBytes(limits), INT32_MAX)));
  builder.SetMaxSendMessageSize(kMaxSendMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
  server->grpc_server_ = builder.BuildAndStart();
  if (!server->grpc_server_ || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " (in use, or not an address of this host)"));
  }
  if (server->listener_) {
    server->listener_->Start(
        [gate = &server->context_->drain_gate(), grpc_server = server->grpc_server_.get()](int fd) {
          gate->ConnectionAccepted(fd);
          grpc::AddInsecureChannelFromFd(grpc_server, fd);
        });
  }
  if (o.http_port > 0) {
    HttpServerOptions http{.host = o.host,
                           .port = o.http_port,
                           .num_threads = 2,
                           .max_body_bytes = OpenAiApi::MaxBodyBytes(limits)};
    if (!o.tls_cert.empty()) {
      EGMLA_ASSIGN_OR_RETURN(http.tls_cert_pem, ReadFlagFile("tls-cert", o.tls_cert));
      EGMLA_ASSIGN_OR_RETURN(http.tls_key_pem, ReadFlagFile("tls-key", o.tls_key));
    }
    std::optional<ChatFormat> chat_format;
    if (!config.chat_format.empty()) {
      EGMLA_ASSIGN_OR_RETURN(chat_format, FindChatFormat(config.chat_format));
    }
    server->openai_ = std::make_unique<OpenAiApi>(
        server->context_.get(),
        OpenAiApiOptions{
            .model_name = server->context_->model_info().model_name(),
            .chat_format = chat_format,
            .healthy = [raw] { return !raw->failed_.load(); },
            .observer = [metrics](const std::string& endpoint,
                                  int status) { metrics->OnHttpRequest(endpoint, status); }});
    absl::StatusOr<std::unique_ptr<HttpServer>> api = HttpServer::Start(
        http, [api = server->openai_.get()](const HttpRequest& request,
                                            std::shared_ptr<HttpResponder> responder) {
          api->Handle(request, std::move(responder));
        });
    if (!api.ok()) {
      return absl::Status(api.status().code(),
                          absl::StrCat("--http-port: ", api.status().message()));
    }
    server->openai_http_ = *std::move(api);
  }
  server->grpc_server_->GetHealthCheckService()->SetServingStatus(kReadinessService, true);
  if (o.engine_stall_timeout > absl::ZeroDuration()) {
    server->liveness_ = std::make_unique<LivenessWatch>(
        [engine = server->engine_.get()] { return absl::FromChrono(engine->StalledFor()); },
        o.engine_stall_timeout,
        [health = server->grpc_server_->GetHealthCheckService()](bool live) {
          health->SetServingStatus(kLivenessService, live);
        });
  }
  spdlog::info(
      "serving {} ({}, {} layers) on {} {}:{}, metrics on port {}, OpenAI-compatible HTTP API "
      "{}; KV cache: {} blocks of {} tokens, {} bytes per token{}",
      o.model_dir, AttentionTypeName(config.attention_type), config.num_hidden_layers,
      device.device, o.host, server->port_, server->metrics_port(),
      server->openai_http_ ? absl::StrCat("on port ", server->http_port()) : "off",
      scheduler.num_blocks, scheduler.block_size, spec.bytes_per_token(),
      !config.is_eg_mla()             ? ""
      : gate_mode == GateMode::kTable ? "; gate mode table"
                                      : "; gate mode onthefly");
  return server;
}

Server::~Server() {
  // First, as the metrics snapshot and the OpenAI API read the engine and the service context.
  if (openai_http_) openai_http_->Stop();
  if (metrics_http_) metrics_http_->Stop();
  liveness_.reset();
  if (listener_) listener_->Close();
  if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now());
  // Before the service context: the requests the engine still holds end now (aborted), and the
  // OpenAI API's ones release their ids in the context as they do.
  engine_.reset();
}

int Server::metrics_port() const { return metrics_http_ ? metrics_http_->port() : -1; }

int Server::http_port() const { return openai_http_ ? openai_http_->port() : 0; }

void Server::Drain() {
  const absl::Time start = absl::Now();
  // The steps of docs/deploy.md, "The drain sequence".
  // 1. New calls are refused, except the first call of a connection (below), before readiness
  //    says so: a client that saw NOT_SERVING gets UNAVAILABLE on its open connection.
  DrainGate& gate = context_->drain_gate();
  gate.BeginDrain();
  grpc_server_->GetHealthCheckService()->SetServingStatus(kReadinessService, false);
  // 2. No new connection: a load balancer's connect is refused and goes to another replica.
  //    What the kernel already accepted is handed to gRPC, not reset. The HTTP API's listener
  //    closes too; its open connections are answered 503 with `Connection: close`.
  if (listener_) listener_->Close();
  if (openai_http_) openai_http_->CloseListener();
  // 3. The calls those connections carry arrive and are served (nginx cannot retry a call it
  //    has sent, so refusing them would fail them).
  const int silent = gate.WaitForFirstCalls(kFirstCallWait);
  // 4. Not before kMinTimeBeforeGoaway, Shutdown sends GOAWAY; gRPC takes no new call after it
  //    (with gRPC's own listener, for TLS, steps 2 and 4 happen together here).
  absl::SleepFor(start + std::min(kMinTimeBeforeGoaway, options_.drain_timeout) - absl::Now());
  const auto deadline = absl::ToChronoTime(start + options_.drain_timeout);
  spdlog::info(
      "draining: readiness NOT_SERVING, listener closed; {} call(s) in flight get up to {}{}",
      context_->num_in_flight(), absl::FormatDuration(options_.drain_timeout),
      silent == 0 ? ""
                  : absl::StrCat("; ", silent, " connection(s) sent no call within ",
                                 absl::FormatDuration(kFirstCallWait)));
  absl::Notification shut_down;
  std::thread aborter([this, deadline, &shut_down] {
    // Returns when nothing is in flight any more, or `give_up` says so.
    auto wait_for_calls = [this](auto give_up) {
      while (context_->num_in_flight() > 0 && !give_up()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    };
    // 5. Past the drain timeout, what is still in flight ends with Complete(ABORTED).
    wait_for_calls([deadline] { return std::chrono::system_clock::now() >= deadline; });
    if (context_->num_in_flight() > 0) {
      spdlog::warn("drain timeout: aborting {} request(s)", context_->num_in_flight());
      context_->AbortAllInFlight();
    }
    wait_for_calls([&shut_down] { return shut_down.HasBeenNotified(); });
    // 6. Nothing is in flight: connections still open after kIdleConnectionGrace are closed.
    if (!shut_down.WaitForNotificationWithTimeout(kIdleConnectionGrace)) {
      spdlog::info("closing client connections still open {} after the last call",
                   absl::FormatDuration(kIdleConnectionGrace));
      grpc_server_cancel_all_calls(grpc_server_->c_server());
    }
  });
  // Sends GOAWAY at once, then waits for the calls in flight and for every client connection to
  // close; a call still open well after the aborts is cancelled.
  grpc_server_->Shutdown(deadline + std::chrono::seconds(10));
  shut_down.Notify();
  aborter.join();
  // 7. The HTTP API's requests are no gRPC calls: they too get until the deadline, then end
  //    aborted.
  const auto http_wait = [this](std::chrono::system_clock::time_point until) {
    while (context_->num_in_flight() > 0 && std::chrono::system_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  http_wait(deadline);
  if (context_->num_in_flight() > 0) {
    spdlog::warn("drain timeout: aborting {} HTTP request(s)", context_->num_in_flight());
    context_->AbortAllInFlight();
    http_wait(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  spdlog::info("drained");
}

}  // namespace egmla
