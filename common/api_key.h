// API key files (`--api-key-file` of egmla-server, egmla and egmla-loadgen).
#ifndef EGMLA_COMMON_API_KEY_H_
#define EGMLA_COMMON_API_KEY_H_

#include <string>

#include "absl/status/statusor.h"

namespace egmla {

// The key in the file at `path`, surrounding ASCII whitespace removed. The key travels as the
// HTTP/2 header "authorization: Bearer KEY", so only visible ASCII (0x21..0x7E) can be sent:
// gRPC aborts the process on any other byte in a metadata value. INVALID_ARGUMENT naming `flag`
// and `path` when the key is empty or holds another byte (with its offset in the file; the key
// itself is never printed); errors of ReadRegularFile (a directory, a FIFO, missing) prefixed
// with `flag`.
absl::StatusOr<std::string> ReadApiKeyFile(const std::string& flag, const std::string& path);

}  // namespace egmla

#endif  // EGMLA_COMMON_API_KEY_H_
