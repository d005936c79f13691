// `egmla info` and `egmla load`: GetModelInfo / GetLoad as one JSON object (DESIGN §5.1).
#include <iostream>

#include "egmla/v1/generation.grpc.pb.h"
#include "tools/client_channel.h"
#include "tools/client_request.h"
#include "tools/commands.h"

namespace egmla::cli {
namespace {

using egmla::v1::Generation;

// Unary calls get a deadline unless --timeout says otherwise.
constexpr double kDefaultTimeoutSeconds = 10;

// Makes one unary call, `call(stub, context, &reply)`, and prints the reply as JSON.
template <typename Reply, typename Call>
int PrintUnary(std::string_view command, const ClientOptions& options, Call call) {
  absl::StatusOr<Connection> connection = Connection::Open(options, kDefaultTimeoutSeconds);
  if (!connection.ok()) return ReportUsageError(command, connection.status());
  Generation::Stub stub(connection->channel());
  grpc::ClientContext context;
  connection->Prepare(&context);
  Reply reply;
  grpc::Status status = call(stub, &context, &reply);
  if (!status.ok()) return ReportCallError(command, status);
  std::cout << ToJsonLine(reply) << std::endl;
  return 0;
}

}  // namespace

int Info(const ClientOptions& options) {
  return PrintUnary<egmla::v1::ModelInfo>(
      "info", options,
      [](Generation::Stub& stub, grpc::ClientContext* context, egmla::v1::ModelInfo* reply) {
        return stub.GetModelInfo(context, egmla::v1::GetModelInfoRequest(), reply);
      });
}

int Load(const ClientOptions& options) {
  return PrintUnary<egmla::v1::Load>(
      "load", options,
      [](Generation::Stub& stub, grpc::ClientContext* context, egmla::v1::Load* reply) {
        return stub.GetLoad(context, egmla::v1::GetLoadRequest(), reply);
      });
}

}  // namespace egmla::cli
