#include "server/generation_service.h"

#include "absl/strings/str_cat.h"
#include "server/generate_reactor.h"
#include "server/grpc_status.h"
#include "server/request_parsing.h"
#include "server/request_validation.h"

namespace egmla {

grpc::ServerWriteReactor<grpc::ByteBuffer>* GenerationService::Generate(
    grpc::CallbackServerContext* call, const grpc::ByteBuffer* request) {
  return GenerateReactor::Start(context_, call, *request);
}

grpc::ServerUnaryReactor* GenerationService::Reply(grpc::CallbackServerContext* call,
                                                   const absl::Status& status) {
  if (!status.ok()) context_->Rejected(status.code());
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* GenerationService::Abort(grpc::CallbackServerContext* call,
                                                   const grpc::ByteBuffer* raw,
                                                   grpc::ByteBuffer* response) {
  if (absl::Status auth = context_->Authenticate(*call); !auth.ok()) return Reply(call, auth);
  absl::StatusOr<v1::AbortRequest> request = ParseAbortRequest(BufferBytes(*raw));
  if (!request.ok()) return Reply(call, request.status());
  const std::string& request_id = request->request_id();
  // Generate's limit: an id no Generate can have is refused without being echoed.
  if (request_id.size() > kMaxRequestIdBytes) {
    return Reply(call,
                 absl::InvalidArgumentError(absl::StrCat("request_id: at most ", kMaxRequestIdBytes,
                                                         " bytes, got ", request_id.size())));
  }
  std::optional<RequestId> engine_id = context_->FindEngineId(request_id);
  if (!engine_id) {
    return Reply(call, absl::NotFoundError(
                           absl::StrCat("request_id: '", request_id, "' is not in flight here")));
  }
  *response = ToBuffer(v1::AbortResponse());
  context_->engine().Abort(*engine_id);
  return Reply(call, absl::OkStatus());
}

grpc::ServerUnaryReactor* GenerationService::GetModelInfo(grpc::CallbackServerContext* call,
                                                          const v1::GetModelInfoRequest* request,
                                                          v1::ModelInfo* response) {
  if (absl::Status auth = context_->Authenticate(*call); !auth.ok()) return Reply(call, auth);
  *response = context_->model_info();
  return Reply(call, absl::OkStatus());
}

grpc::ServerUnaryReactor* GenerationService::GetLoad(grpc::CallbackServerContext* call,
                                                     const v1::GetLoadRequest* request,
                                                     v1::Load* response) {
  if (absl::Status auth = context_->Authenticate(*call); !auth.ok()) return Reply(call, auth);
  const EngineStats stats = context_->engine().Stats();
  response->set_running(static_cast<uint32_t>(stats.running));
  response->set_waiting(static_cast<uint32_t>(stats.waiting));
  response->set_kv_cache_usage(static_cast<float>(stats.kv_cache_usage));
  response->set_free_blocks(static_cast<uint64_t>(stats.cached_blocks + stats.free_blocks));
  response->set_total_blocks(static_cast<uint64_t>(stats.total_blocks));
  response->set_draining(context_->draining());
  return Reply(call, absl::OkStatus());
}

}  // namespace egmla
