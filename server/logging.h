// spdlog set-up for egmla-server: text or JSON lines (--log-format), --log-level.
#ifndef EGMLA_SERVER_LOGGING_H_
#define EGMLA_SERVER_LOGGING_H_

#include <string>

#include "absl/status/status.h"

namespace egmla {

// INVALID_ARGUMENT naming the flag for an unknown format or level.
absl::Status SetUpLogging(const std::string& format, const std::string& level);

}  // namespace egmla

#endif  // EGMLA_SERVER_LOGGING_H_
