// score, kv-size and random-model: the offline commands that need no engine.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/status.h"
#include "model/kv_size.h"
#include "model/model.h"
#include "model/random_model.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/token_ids.h"

namespace egmla::cli {
namespace {

absl::Status WriteFloats(const std::string& path, const std::vector<float>& values) {
  std::ofstream out(path, std::ios::binary);
  // The host is little-endian (x86-64, arm64), which is the file format.
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out) return absl::InternalError(absl::StrCat("--logits_out: cannot write ", path));
  return absl::OkStatus();
}

absl::Status ScoreImpl(const ScoreOptions& o) {
  if (o.model_dir.empty()) return absl::InvalidArgumentError("--model is required");
  if (o.logits_out.empty()) return absl::InvalidArgumentError("--logits-out is required");
  EGMLA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseTokenIds(o.token_ids));
  EGMLA_ASSIGN_OR_RETURN(
      auto model, LoadModelForCli(o.model_dir, o.gate_mode, kServerDefaultKvCacheMemoryBytes));
  SequenceCache cache = model->NewCache();
  EGMLA_ASSIGN_OR_RETURN(std::vector<float> logits, model->Forward(ids, &cache));
  return WriteFloats(o.logits_out, logits);
}

absl::Status KvSizeImpl(const KvSizeOptions& o) {
  if (o.config_path.empty()) return absl::InvalidArgumentError("--config is required");
  EGMLA_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(o.config_path));
  EGMLA_ASSIGN_OR_RETURN(DType dtype, ParseCacheDType(o.dtype));
  EGMLA_ASSIGN_OR_RETURN(GateMode mode,
                         ResolveGateMode(o.gate_mode, config, kServerDefaultKvCacheMemoryBytes));
  const CacheSpec spec = MakeCacheSpec(config, dtype);
  std::cout << "{\"elements_per_token\": " << spec.elements_per_token()
            << ", \"bytes_per_token\": " << spec.bytes_per_token()
            << ", \"gate_table_bytes\": " << GateTableBytes(config, dtype, mode) << "}\n";
  return absl::OkStatus();
}

absl::Status RandomModelImpl(const RandomModelOptions& o) {
  if (o.config_path.empty()) return absl::InvalidArgumentError("--config is required");
  if (o.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  EGMLA_ASSIGN_OR_RETURN(DType dtype, ParseCacheDType(o.dtype));
  // Read once: the text is copied verbatim into the new checkpoint.
  EGMLA_ASSIGN_OR_RETURN(std::string text, ReadRegularFile(o.config_path));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(o.config_path, ": ", config.status().message()));
  }
  return WriteRandomModel(*config, text, o.seed, dtype, o.out_dir);
}

}  // namespace

int Score(const ScoreOptions& options) { return ExitCode("score", ScoreImpl(options)); }
int KvSize(const KvSizeOptions& options) { return ExitCode("kv-size", KvSizeImpl(options)); }
int RandomModel(const RandomModelOptions& options) {
  return ExitCode("random-model", RandomModelImpl(options));
}

}  // namespace egmla::cli
