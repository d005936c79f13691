// What the gRPC handlers share: the engine, the model's description, the server's state
// (draining, API key) and the registry of client request ids in flight. Thread-safe.
#ifndef EGMLA_SERVER_SERVICE_CONTEXT_H_
#define EGMLA_SERVER_SERVICE_CONTEXT_H_

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "egmla/v1/generation.pb.h"
#include "engine/engine.h"
#include "grpcpp/server_context.h"
#include "server/drain_gate.h"
#include "server/request_validation.h"

namespace egmla {

class ServiceContext {
 public:
  ServiceContext(Engine* engine, v1::ModelInfo model_info, ValidationLimits limits,
                 std::string api_key, std::function<void(absl::StatusCode)> on_rejected)
      : engine_(engine),
        model_info_(std::move(model_info)),
        limits_(limits),
        api_key_(std::move(api_key)),
        on_rejected_(std::move(on_rejected)) {}

  Engine& engine() const { return *engine_; }
  const v1::ModelInfo& model_info() const { return model_info_; }
  const ValidationLimits& limits() const { return limits_; }

  // UNAUTHENTICATED unless no key is configured or the call carries
  // `authorization: Bearer <key>`.
  absl::Status Authenticate(const grpc::CallbackServerContext& context) const;
  // The same for an HTTP request's Authorization header (null: not sent).
  absl::Status AuthenticateHeader(const std::string* authorization) const;

  // Draining (GetLoad.draining, egmla_draining): from the SIGTERM on. Which calls are still
  // served is the gate's to say.
  bool draining() const { return drain_gate_.draining(); }
  DrainGate& drain_gate() { return drain_gate_; }

  // Claims a client request id for a live request; ALREADY_EXISTS when it is in flight.
  absl::Status Register(const std::string& request_id);
  // Records the engine's id once the request is submitted (for Abort by client id).
  void SetEngineId(const std::string& request_id, RequestId engine_id);
  void Unregister(const std::string& request_id);
  std::optional<RequestId> FindEngineId(const std::string& request_id) const;
  size_t num_in_flight() const;
  // Aborts every submitted request in flight: their streams end with Complete(ABORTED).
  void AbortAllInFlight() const;

  // Counts a refused call for the metrics (egmla_requests_rejected_total{code}).
  void Rejected(absl::StatusCode code) const {
    if (on_rejected_) on_rejected_(code);
  }

 private:
  Engine* const engine_;
  const v1::ModelInfo model_info_;
  const ValidationLimits limits_;
  const std::string api_key_;
  const std::function<void(absl::StatusCode)> on_rejected_;
  DrainGate drain_gate_;

  mutable std::mutex mu_;
  // Client id → engine id (nullopt between Register and SetEngineId).
  std::unordered_map<std::string, std::optional<RequestId>> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace egmla

#endif  // EGMLA_SERVER_SERVICE_CONTEXT_H_
