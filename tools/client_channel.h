// Channel, credentials and per-call metadata for the `egmla` client subcommands.
#ifndef EGMLA_TOOLS_CLIENT_CHANNEL_H_
#define EGMLA_TOOLS_CLIENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tools/commands.h"

namespace egmla::cli {

// Exit codes of the client subcommands (see commands.h).
inline constexpr int kExitCallFailed = 1;
inline constexpr int kExitUsage = 2;

// A channel to the server plus what every call carries (API key, deadline).
class Connection {
 public:
  // Reads the API key (see common/api_key.h: only visible ASCII) and CA files; errors name the
  // flag. Does not connect yet.
  // `default_timeout_seconds` applies when options.timeout_seconds is unset (nullopt = none).
  static absl::StatusOr<Connection> Open(const ClientOptions& options,
                                         std::optional<double> default_timeout_seconds);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Adds the authorization metadata and the deadline to a fresh context.
  void Prepare(grpc::ClientContext* context) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string api_key_;                    // empty = none
  std::optional<double> timeout_seconds_;  // none = no deadline
};

// "UNAVAILABLE", "INVALID_ARGUMENT", ... (the canonical code names).
std::string StatusCodeName(grpc::StatusCode code);

// Prints "egmla COMMAND: CODE_NAME: message" to stderr; returns kExitCallFailed.
int ReportCallError(std::string_view command, const grpc::Status& status);
// Prints "egmla COMMAND: message" to stderr; returns kExitUsage.
int ReportUsageError(std::string_view command, const absl::Status& status);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_CLIENT_CHANNEL_H_
