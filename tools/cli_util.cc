#include "tools/cli_util.h"

#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace egmla::cli {

int ExitCode(std::string_view command, const absl::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "egmla " << command << ": " << status.message() << "\n";
  return 1;
}

absl::StatusOr<DType> ParseCacheDType(const std::string& flag) {
  if (flag.empty() || flag == "auto") return DType::kF32;
  std::optional<DType> dtype = ParseDType(flag);
  if (!dtype || *dtype == DType::kI32) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dtype: '", flag, "' is not one of auto, f32, bf16, f16"));
  }
  return *dtype;
}

absl::StatusOr<std::unique_ptr<Model>> LoadModelForCli(const std::string& dir,
                                                       const std::string& gate_mode,
                                                       int64_t kv_cache_memory_bytes) {
  EGMLA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir + "/config.json"));
  EGMLA_ASSIGN_OR_RETURN(GateMode mode, ResolveGateMode(gate_mode, config, kv_cache_memory_bytes));
  return Model::Load(dir, std::move(config), {.gate_mode = mode});
}

}  // namespace egmla::cli
