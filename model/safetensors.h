// Reading (mmap) and writing safetensors checkpoints, single file or sharded.
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32"|"BF16"|"F16"|"I32", "shape": [...], "data_offsets": [begin, end]},
//  "__metadata__": {...}}, then the data; offsets are relative to the end of the header.
#ifndef EGMLA_MODEL_SAFETENSORS_H_
#define EGMLA_MODEL_SAFETENSORS_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"

namespace egmla {

// One memory-mapped .safetensors file. Views stay valid as long as the object lives.
class SafetensorsFile {
 public:
  // Errors name the file and, where one is at fault, the tensor: not a regular file (a FIFO, a
  // directory: see common/regular_file.h), an unsupported dtype ("tensor 'x' has dtype F64;
  // supported: F32, BF16, F16, I32"), a shape that disagrees with its byte range, a range past
  // the end of the file (truncated), a malformed header (a key given twice among the tensors or
  // inside one tensor's entry), two tensors whose byte ranges overlap (both named), data bytes
  // no tensor covers (a gap or trailing bytes, with the byte range): as in the reference
  // implementation, the tensors must tile the data section exactly.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  std::map<std::string, TensorView> tensors_;
};

// All tensors of a checkpoint directory: `model.safetensors`, or the shards listed in
// `model.safetensors.index.json` ({"weight_map": {"tensor": "shard file"}}).
class CheckpointTensors {
 public:
  // Errors: neither name present (NOT_FOUND); either one present but not a regular file (a
  // dangling symbolic link included); a shard missing; a tensor the index names that its shard
  // lacks; a tensor present in two shards; any error of SafetensorsFile::Open.
  static absl::StatusOr<CheckpointTensors> Open(const std::string& dir);

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> tensors_;
};

// The parsing behind the two Open functions, on bytes in memory (the fuzz targets in fuzz/ call
// these). Errors are those of the Open functions without the file's path in front.
//
// The tensors of `bytes`, the whole content of one .safetensors file: every check of
// SafetensorsFile::Open. The views point into `bytes`.
absl::StatusOr<std::map<std::string, TensorView>> ParseSafetensors(std::string_view bytes);
// The weight_map of a model.safetensors.index.json text: (tensor name, shard file name) pairs in
// tensor-name order, each shard name a non-empty string. The shards themselves are not looked at.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseSafetensorsIndex(
    std::string_view json_text);

// Writes tensors (in the given order) to `path` as one safetensors file.
absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, TensorView>>& tensors);

}  // namespace egmla

#endif  // EGMLA_MODEL_SAFETENSORS_H_
