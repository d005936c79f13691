// egmla.v1.Generation on gRPC's callback API (DESIGN §5).
#ifndef EGMLA_SERVER_GENERATION_SERVICE_H_
#define EGMLA_SERVER_GENERATION_SERVICE_H_

#include "egmla/v1/generation.grpc.pb.h"
#include "server/service_context.h"

namespace egmla {

class GenerationService final : public v1::Generation::CallbackService {
 public:
  // REQUIRES: `context` outlives the service.
  explicit GenerationService(ServiceContext* context) : context_(context) {}

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* call, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* call,
                                  const v1::AbortRequest* request,
                                  v1::AbortResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* call,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* call,
                                    const v1::GetLoadRequest* request, v1::Load* response) override;

 private:
  // Finishes a unary call with `status`, counting refusals.
  grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* call, const absl::Status& status);

  ServiceContext* const context_;
};

}  // namespace egmla

#endif  // EGMLA_SERVER_GENERATION_SERVICE_H_
