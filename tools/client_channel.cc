#include "tools/client_channel.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/api_key.h"
#include "common/regular_file.h"

namespace egmla::cli {

absl::StatusOr<Connection> Connection::Open(const ClientOptions& options,
                                            std::optional<double> default_timeout_seconds) {
  if (options.server.empty()) return absl::InvalidArgumentError("--server: HOST:PORT is empty");
  Connection connection;
  connection.timeout_seconds_ =
      options.timeout_seconds ? options.timeout_seconds : default_timeout_seconds;
  if (connection.timeout_seconds_ &&
      !(std::isfinite(*connection.timeout_seconds_) && *connection.timeout_seconds_ > 0)) {
    return absl::InvalidArgumentError("--timeout: must be a positive number of seconds");
  }
  if (!options.api_key_file.empty()) {
    // Checked here: gRPC aborts the process on a metadata value it cannot send.
    absl::StatusOr<std::string> key = ReadApiKeyFile("--api-key-file", options.api_key_file);
    if (!key.ok()) return key.status();
    connection.api_key_ = *std::move(key);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    absl::StatusOr<std::string> ca = ReadRegularFile(options.tls_ca);
    if (!ca.ok()) {
      return absl::Status(ca.status().code(), absl::StrCat("--tls-ca: ", ca.status().message()));
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *std::move(ca);
    credentials = grpc::SslCredentials(ssl);
  }
  connection.channel_ = grpc::CreateChannel(options.server, credentials);
  return connection;
}

void Connection::Prepare(grpc::ClientContext* context) const {
  if (!api_key_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", api_key_));
  if (timeout_seconds_) {
    // Capped at a year so that the conversion cannot overflow.
    const double seconds = std::min(*timeout_seconds_, 365.0 * 24 * 3600);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(seconds)));
  }
}

std::string StatusCodeName(grpc::StatusCode code) {
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

int ReportCallError(std::string_view command, const grpc::Status& status) {
  std::cerr << "egmla " << command << ": " << StatusCodeName(status.error_code()) << ": "
            << status.error_message() << "\n";
  return kExitCallFailed;
}

int ReportUsageError(std::string_view command, const absl::Status& status) {
  std::cerr << "egmla " << command << ": " << status.message() << "\n";
  return kExitUsage;
}

}  // namespace egmla::cli
