// Small helpers shared by the `egmla` subcommands.
#ifndef EGMLA_TOOLS_CLI_UTIL_H_
#define EGMLA_TOOLS_CLI_UTIL_H_

#include <cstdint>
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
// egmla-server's default --kv-cache-memory (1 GiB). What `--gate-mode auto` weighs the gate
// table against in the commands that have no KV-cache budget of their own (score, kv-size), so
// that they answer as a server started with default flags would (ResolveGateMode).
inline constexpr int64_t kServerDefaultKvCacheMemoryBytes = int64_t{1} << 30;

// Loads `dir` with the gate mode ResolveGateMode picks for `gate_mode` (the --gate-mode flag) and
// a KV cache of `kv_cache_memory_bytes`.
absl::StatusOr<std::unique_ptr<Model>> LoadModelForCli(const std::string& dir,
                                                       const std::string& gate_mode,
                                                       int64_t kv_cache_memory_bytes);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_CLI_UTIL_H_
