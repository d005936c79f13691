// Small helpers shared by the `egmla` subcommands.
#ifndef EGMLA_TOOLS_CLI_UTIL_H_
#define EGMLA_TOOLS_CLI_UTIL_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/dtype.h"
#include "model/gate.h"
#include "model/model.h"

namespace egmla::cli {

// Prints "egmla COMMAND: message" to stderr for an error; 0 for OK, 1 otherwise.
int ExitCode(std::string_view command, const absl::Status& status);

// "" | "auto" | "f32" | "bf16" | "f16" (auto and empty = f32, the CPU dtype).
absl::StatusOr<DType> ParseCacheDType(const std::string& flag);
// "" | "auto" | "table" | "onthefly" (auto and empty = table).
absl::StatusOr<GateMode> ParseGateModeFlag(const std::string& flag);

absl::StatusOr<std::unique_ptr<Model>> LoadModelForCli(const std::string& dir,
                                                       const std::string& gate_mode);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_CLI_UTIL_H_
