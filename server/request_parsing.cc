#include "server/request_parsing.h"

#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "egmla/internal/request_strings.pb.h"
#include "grpcpp/support/slice.h"
#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

absl::Status Malformed(const char* message_name) {
  return absl::InvalidArgumentError(absl::StrCat("request: not a valid ", message_name,
                                                 " (truncated, or not this message's encoding)"));
}

// INVALID_ARGUMENT naming `field` when `value` is not UTF-8 (the value is never echoed).
absl::Status CheckUtf8(const std::string& field, std::string_view value) {
  if (std::optional<size_t> bad = FirstInvalidUtf8Offset(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not valid UTF-8 (bad byte at offset ", *bad, ")"));
  }
  return absl::OkStatus();
}

// Parses `bytes` as `Strings` (the message's string fields as bytes, the rest skipped), runs
// `check_strings` on it, then parses them as the real `Message`.
template <typename Message, typename Strings, typename Check>
absl::StatusOr<Message> ParseChecked(std::string_view bytes, const char* message_name,
                                     Check check_strings) {
  // Protobuf takes an int size; gRPC's receive limit keeps messages far below this.
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("request: ", message_name, " of ", bytes.size(), " bytes is too large"));
  }
  Strings strings;
  if (!strings.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed(message_name);
  }
  EGMLA_RETURN_IF_ERROR(check_strings(strings));
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed(message_name);
  }
  return message;
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
  return ParseChecked<v1::GenerateRequest, internal::GenerateRequestStrings>(
      bytes, "egmla.v1.GenerateRequest", [](const internal::GenerateRequestStrings& strings) {
        EGMLA_RETURN_IF_ERROR(CheckUtf8("request_id", strings.request_id()));
        EGMLA_RETURN_IF_ERROR(CheckUtf8("text", strings.text()));
        for (int i = 0; i < strings.stopping().stop_sequences_size(); ++i) {
          EGMLA_RETURN_IF_ERROR(CheckUtf8(absl::StrCat("stopping.stop_sequences[", i, "]"),
                                          strings.stopping().stop_sequences(i)));
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<v1::AbortRequest> ParseAbortRequest(std::string_view bytes) {
  return ParseChecked<v1::AbortRequest, internal::AbortRequestStrings>(
      bytes, "egmla.v1.AbortRequest", [](const internal::AbortRequestStrings& strings) {
        return CheckUtf8("request_id", strings.request_id());
      });
}

grpc::ByteBuffer ToBuffer(const google::protobuf::Message& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace egmla
