// `egmla generate`: one streamed Generate call, printed as it arrives (DESIGN §5.1).
#include <iostream>

#include "egmla/v1/generation.grpc.pb.h"
#include "tools/client_channel.h"
#include "tools/client_request.h"
#include "tools/commands.h"

namespace egmla::cli {
namespace {

constexpr char kCommand[] = "generate";

// Text when the model has a tokenizer, else ids; --logprobs always prints ids with logprobs.
// A text prompt implies a tokenizer (the server refuses it otherwise), so only an id prompt
// asks the server.
grpc::Status ChooseStyle(const GenerateOptions& o, const egmla::v1::GenerateRequest& request,
                         const Connection& connection, egmla::v1::Generation::Stub& stub,
                         ChunkStyle* style) {
  if (o.logprobs) {
    *style = ChunkStyle::kLogprobs;
    return grpc::Status::OK;
  }
  if (request.has_text()) {
    *style = ChunkStyle::kText;
    return grpc::Status::OK;
  }
  grpc::ClientContext context;
  connection.Prepare(&context);
  egmla::v1::ModelInfo info;
  grpc::Status status = stub.GetModelInfo(&context, egmla::v1::GetModelInfoRequest(), &info);
  *style = info.has_tokenizer() ? ChunkStyle::kText : ChunkStyle::kIds;
  return status;
}

}  // namespace

int Generate(const GenerateOptions& o) {
  absl::StatusOr<egmla::v1::GenerateRequest> request = BuildGenerateRequest(o);
  if (!request.ok()) return ReportUsageError(kCommand, request.status());
  absl::StatusOr<Connection> connection = Connection::Open(o.client, std::nullopt);
  if (!connection.ok()) return ReportUsageError(kCommand, connection.status());
  egmla::v1::Generation::Stub stub(connection->channel());

  ChunkStyle style = ChunkStyle::kIds;
  if (!o.json) {
    grpc::Status status = ChooseStyle(o, *request, *connection, stub, &style);
    if (!status.ok()) return ReportCallError(kCommand, status);
  }

  grpc::ClientContext context;
  connection->Prepare(&context);
  std::unique_ptr<grpc::ClientReader<egmla::v1::GenerateResponse>> reader =
      stub.Generate(&context, *request);
  egmla::v1::GenerateResponse response;
  bool printed = false;  // anything of this generation on stdout yet (not in --json)
  bool completed = false;
  while (reader->Read(&response)) {
    if (o.json) {
      std::cout << ToJsonLine(response) << std::endl;  // flushes
    } else if (response.has_chunk()) {
      const std::string text = FormatChunk(response.chunk(), style, !printed);
      if (!text.empty()) {
        std::cout << text << std::flush;
        printed = true;
      }
    }
    if (response.has_complete()) completed = true;
  }
  grpc::Status status = reader->Finish();
  if (!o.json && (status.ok() || printed)) std::cout << "\n" << std::flush;
  if (!status.ok()) return ReportCallError(kCommand, status);
  if (!completed) {
    return ReportCallError(kCommand, grpc::Status(grpc::StatusCode::INTERNAL,
                                                  "the stream ended without a Complete message"));
  }
  return 0;
}

}  // namespace egmla::cli
