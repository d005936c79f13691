#include "server/service_context.h"

#include "absl/strings/str_cat.h"

namespace egmla {

absl::Status ServiceContext::Authenticate(const grpc::CallbackServerContext& context) const {
  if (api_key_.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <key>' metadata");
  }
  const std::string value(it->second.data(), it->second.size());
  return AuthenticateHeader(&value);
}

absl::Status ServiceContext::AuthenticateHeader(const std::string* authorization) const {
  if (api_key_.empty()) return absl::OkStatus();
  if (authorization == nullptr) {
    return absl::UnauthenticatedError("missing 'Authorization: Bearer <key>'");
  }
  if (*authorization != "Bearer " + api_key_) {
    return absl::UnauthenticatedError("the API key in 'Authorization' is not valid");
  }
  return absl::OkStatus();
}

absl::Status ServiceContext::Register(const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!in_flight_.emplace(request_id, std::nullopt).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id: '", request_id, "' is already in flight"));
  }
  return absl::OkStatus();
}

void ServiceContext::SetEngineId(const std::string& request_id, RequestId engine_id) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_[request_id] = engine_id;
}

void ServiceContext::Unregister(const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(request_id);
}

std::optional<RequestId> ServiceContext::FindEngineId(const std::string& request_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_flight_.find(request_id);
  return it == in_flight_.end() ? std::nullopt : it->second;
}

size_t ServiceContext::num_in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_.size();
}

void ServiceContext::AbortAllInFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [request_id, engine_id] : in_flight_) {
    if (engine_id) engine_->Abort(*engine_id);
  }
}

}  // namespace egmla
