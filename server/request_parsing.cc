#include "server/request_parsing.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "egmla/internal/request_strings.pb.h"
#include "grpcpp/support/slice.h"
#include "model/tokenizer_utf8.h"

namespace egmla {
namespace {

absl::Status Malformed(const char* message_name) {
  return absl::InvalidArgumentError(absl::StrCat(
      "request: not a valid ", message_name, " (truncated, or not this message's encoding)"));
}

// INVALID_ARGUMENT naming `field` when `value` is not UTF-8 (the value is never echoed).
absl::Status CheckUtf8(const std::string& field, std::string_view value) {
  if (std::optional<size_t> bad = FirstInvalidUtf8Offset(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid UTF-8 (bad byte at offset ", *bad, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

absl::StatusOr<v1::GenerateRequest> ParseGenerateRequest(std::string_view bytes) {
  internal::GenerateRequestStrings strings;
  if (!strings.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed("egmla.v1.GenerateRequest");
  }
  if (auto st = CheckUtf8("request_id", strings.request_id()); !st.ok()) return st;
  if (auto st = CheckUtf8("text", strings.text()); !st.ok()) return st;
  for (int i = 0; i < strings.stopping().stop_sequences_size(); ++i) {
    auto st = CheckUtf8(absl::StrCat("stopping.stop_sequences[", i, "]"),
                        strings.stopping().stop_sequences(i));
    if (!st.ok()) return st;
  }
  v1::GenerateRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed("egmla.v1.GenerateRequest");
  }
  return request;
}

absl::StatusOr<v1::AbortRequest> ParseAbortRequest(std::string_view bytes) {
  internal::AbortRequestStrings strings;
  if (!strings.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed("egmla.v1.AbortRequest");
  }
  if (auto st = CheckUtf8("request_id", strings.request_id()); !st.ok()) return st;
  v1::AbortRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed("egmla.v1.AbortRequest");
  }
  return request;
}

grpc::ByteBuffer ToBuffer(const google::protobuf::Message& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace egmla
