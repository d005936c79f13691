// `egmla health`: grpc.health.v1.Health/Check, for container health checks (DESIGN §5.1).
#include <iostream>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tools/client_channel.h"
#include "tools/commands.h"

namespace egmla::cli {

namespace {
// A health check must not hang: its default deadline is short.
constexpr double kDefaultTimeoutSeconds = 5;
}  // namespace

int Health(const HealthOptions& options) {
  using grpc::health::v1::HealthCheckResponse;
  absl::StatusOr<Connection> connection = Connection::Open(options.client, kDefaultTimeoutSeconds);
  if (!connection.ok()) return ReportUsageError("health", connection.status());
  grpc::health::v1::Health::Stub stub(connection->channel());
  grpc::ClientContext context;
  connection->Prepare(&context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(options.service);
  HealthCheckResponse response;
  grpc::Status status = stub.Check(&context, request, &response);
  if (!status.ok()) return ReportCallError("health", status);
  std::cout << HealthCheckResponse::ServingStatus_Name(response.status()) << std::endl;
  return response.status() == HealthCheckResponse::SERVING ? 0 : kExitCallFailed;
}

}  // namespace egmla::cli
