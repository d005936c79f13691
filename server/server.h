// egmla-server: the model, the engine, the metrics exporter and the gRPC server
// (egmla.v1.Generation, grpc.health.v1.Health, reflection), and the drain of DESIGN §5.
#ifndef EGMLA_SERVER_SERVER_H_
#define EGMLA_SERVER_SERVER_H_

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "grpcpp/server.h"
#include "model/model.h"
#include "server/generation_service.h"
#include "server/http/http_server.h"
#include "server/listener.h"
#include "server/liveness_watch.h"
#include "server/metrics.h"
#include "server/openai/openai_api.h"
#include "server/server_options.h"
#include "server/service_context.h"
#include "tokenizer/tokenizer.h"

namespace egmla {

inline constexpr char kReadinessService[] = "egmla.v1.Generation";
inline constexpr char kLivenessService[] = "";

class Server {
 public:
  // Loads the model, starts the engine, the metrics listener and the gRPC server. Errors name
  // the flag, file or address at fault.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();

  // SIGTERM / SIGINT: readiness NOT_SERVING; the listener closes (a load balancer's new
  // connects are refused and go elsewhere), the calls of connections already accepted are
  // served, then GOAWAY goes out and a call that still arrives gets UNAVAILABLE; in-flight
  // streams get up to --drain-timeout (from the signal) to finish, then end with
  // Complete(ABORTED). Returns when every call is done.
  void Drain();

  int port() const { return port_; }
  int metrics_port() const;
  // The OpenAI-compatible API's port; 0 when --http-port is 0 (off).
  int http_port() const;
  // True once the model runner failed for good (a sticky CUDA error): health went NOT_SERVING,
  // every request failed with INTERNAL, and the server raised SIGTERM so that main drains and
  // exits non-zero for the orchestrator to restart the replica.
  bool failed() const { return failed_.load(); }

 private:
  Server() = default;

  ServerOptions options_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;  // null when the model directory has none
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ServiceContext> context_;
  std::unique_ptr<GenerationService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<Listener> listener_;        // null with TLS: gRPC listens itself
  std::unique_ptr<LivenessWatch> liveness_;   // null with --engine-stall-timeout 0
  std::unique_ptr<HttpServer> metrics_http_;  // null with --metrics-port -1
  std::unique_ptr<OpenAiApi> openai_;
  std::unique_ptr<HttpServer> openai_http_;  // null with --http-port 0
  int port_ = 0;
  std::atomic<bool> failed_{false};
};

}  // namespace egmla

#endif  // EGMLA_SERVER_SERVER_H_
