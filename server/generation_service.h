// egmla.v1.Generation on gRPC's callback API (DESIGN §5).
#ifndef EGMLA_SERVER_GENERATION_SERVICE_H_
#define EGMLA_SERVER_GENERATION_SERVICE_H_

#include "egmla/v1/generation.grpc.pb.h"
#include "server/service_context.h"

namespace egmla {

// Generate and Abort take their requests as raw bytes (server/request_parsing.h), so that a
// malformed message or a string that is not UTF-8 is INVALID_ARGUMENT naming the field; the
// other methods are typed.
using GenerationServiceBase = v1::Generation::WithRawCallbackMethod_Generate<
    v1::Generation::WithRawCallbackMethod_Abort<v1::Generation::WithCallbackMethod_GetModelInfo<
        v1::Generation::WithCallbackMethod_GetLoad<v1::Generation::Service>>>>;

class GenerationService final : public GenerationServiceBase {
 public:
  // REQUIRES: `context` outlives the service.
  explicit GenerationService(ServiceContext* context) : context_(context) {}

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Generate(grpc::CallbackServerContext* call,
                                                       const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* call,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
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
