// absl::Status → grpc::Status (the codes share their numbering).
#ifndef EGMLA_SERVER_GRPC_STATUS_H_
#define EGMLA_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace egmla {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace egmla

#endif  // EGMLA_SERVER_GRPC_STATUS_H_
