// Parses the raw bytes of Generate and Abort requests (the service takes them as
// grpc::ByteBuffer): a malformed or truncated message, or a string field that is not UTF-8, is
// INVALID_ARGUMENT naming the field. (Left to gRPC, either fails the call with UNIMPLEMENTED and
// an empty message.)
#ifndef EGMLA_SERVER_REQUEST_PARSING_H_
#define EGMLA_SERVER_REQUEST_PARSING_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "egmla/v1/generation.pb.h"
#include "grpcpp/support/byte_buffer.h"

namespace egmla {

// The bytes of a received message.
std::string BufferBytes(const grpc::ByteBuffer& buffer);

absl::StatusOr<v1::GenerateRequest> ParseGenerateRequest(std::string_view bytes);
absl::StatusOr<v1::AbortRequest> ParseAbortRequest(std::string_view bytes);

// `message` serialized into a buffer to send.
grpc::ByteBuffer ToBuffer(const google::protobuf::Message& message);

}  // namespace egmla

#endif  // EGMLA_SERVER_REQUEST_PARSING_H_
