#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/status.h"

namespace egmla {
namespace {

using Json = nlohmann::json;
constexpr char kMetadataKey[] = "__metadata__";
constexpr DType kAllDTypes[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kI32};

// The dtype spelling used inside safetensors headers: "F32", "BF16", "F16", "I32".
std::string StoredDTypeName(DType dtype) {
  return absl::AsciiStrToUpper(std::string(DTypeName(dtype)));
}

std::optional<DType> ParseStoredDType(const std::string& name) {
  for (DType dtype : kAllDTypes) {
    if (StoredDTypeName(dtype) == name) return dtype;
  }
  return std::nullopt;
}

std::string Describe(const Json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 64) text = text.substr(0, 64) + "...";
  return text;
}

std::optional<uint64_t> AsNonNegativeInt(const Json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<int64_t>();
  return std::nullopt;
}

// Whether `path` names anything at all, a dangling symbolic link included: such a name is then
// opened, and refused with a message saying what it is, rather than taken for absent.
bool NameExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Parses the header text, refusing duplicate keys, which nlohmann::json would silently resolve by
// keeping one: a tensor described twice, or an entry with two "data_offsets", is ambiguous. Keys
// are checked among the tensor names and inside each tensor's entry; __metadata__'s content is
// left unchecked, as it is unused. Errors do not carry the file path; the caller adds it.
absl::StatusOr<Json> ParseHeader(const char* begin, const char* end) {
  struct Object {
    std::string owner;  // the key whose value this object is ("" at the top level)
    std::set<std::string> keys;
  };
  std::vector<Object> open_objects;
  std::string last_key;
  std::optional<std::string> duplicate;
  auto check_keys = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.push_back({open_objects.empty() ? "" : last_key, {}});
    } else if (event == Json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key) {
      last_key = parsed.get<std::string>();
      const size_t level = open_objects.size();
      const bool checked = level == 1 || (level == 2 && open_objects[1].owner != kMetadataKey);
      if (checked && !duplicate && !open_objects.back().keys.insert(last_key).second) {
        duplicate = level == 1 ? absl::StrCat("key '", last_key, "' appears twice")
                               : absl::StrCat("the entry of tensor '", open_objects[1].owner,
                                              "' has key '", last_key, "' twice");
      }
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(begin, end, check_keys);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed header: not valid JSON: ", e.what()));
  }
  if (duplicate) return absl::InvalidArgumentError(absl::StrCat("malformed header: ", *duplicate));
  if (!header.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed header: expected a JSON object, got ", Describe(header)));
  }
  return header;
}

absl::Status ShorterThanHeaderLength(size_t size) {
  return absl::InvalidArgumentError(
      absl::StrCat("file is truncated: ", size, " bytes, shorter than the 8-byte header length"));
}

// One tensor's byte range in the data section.
struct DataRange {
  uint64_t begin;
  uint64_t end;
  std::string name;
};

// As the reference implementation (the safetensors crate) requires, the tensors must tile the
// data section exactly: an overlap would alias two weights, and bytes no tensor owns hide data
// that no reader can see. Errors do not carry the file path; the caller adds it.
absl::Status CheckTiling(std::vector<DataRange> ranges, uint64_t data_size) {
  std::sort(ranges.begin(), ranges.end(), [](const DataRange& a, const DataRange& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  auto bytes = [](uint64_t begin, uint64_t end) {
    return absl::StrCat("[", begin, ", ", end, ")");
  };
  uint64_t covered = 0;  // bytes [0, covered) are owned, by tensors up to `last`
  const DataRange* last = nullptr;
  for (const DataRange& range : ranges) {
    if (range.begin < covered) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensors '", last->name, "' (data bytes ", bytes(last->begin, last->end), ") and '",
          range.name, "' (data bytes ", bytes(range.begin, range.end), ") overlap"));
    }
    if (range.begin > covered) {
      return absl::InvalidArgumentError(absl::StrCat("data bytes ", bytes(covered, range.begin),
                                                     " belong to no tensor (a gap before tensor '",
                                                     range.name, "')"));
    }
    covered = range.end;
    last = &range;
  }
  if (covered < data_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the last ", data_size - covered, " bytes of the data section (data bytes ",
        bytes(covered, data_size), ") belong to no tensor (trailing bytes after the tensors)"));
  }
  return absl::OkStatus();
}

// Validates one header entry and returns its view into `data` (the data section, `data_size`
// bytes). Errors do not carry the file path; the caller adds it.
absl::StatusOr<TensorView> ParseEntry(const std::string& name, const Json& entry, const char* data,
                                      uint64_t data_size) {
  const std::string who = absl::StrCat("tensor '", name, "'");
  if (!entry.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": header entry must be an object, got ", Describe(entry)));
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(who, ": header entry lacks '", key, "'"));
    }
  }
  TensorView view;
  const Json& dtype = entry["dtype"];
  if (!dtype.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": dtype must be a string, got ", Describe(dtype)));
  }
  std::optional<DType> parsed = ParseStoredDType(dtype.get_ref<const std::string&>());
  if (!parsed.has_value()) {
    std::string name_text = dtype.get<std::string>().substr(0, 32);
    return absl::InvalidArgumentError(
        absl::StrCat(who, " has dtype ", name_text, "; supported: F32, BF16, F16, I32"));
  }
  view.dtype = *parsed;

  const Json& shape = entry["shape"];
  if (!shape.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": shape must be a list of integers, got ", Describe(shape)));
  }
  // Multiply in the same order as NumElements, refusing any step that would overflow.
  int64_t num_elements = 1;
  for (const Json& dim : shape) {
    std::optional<uint64_t> value = AsNonNegativeInt(dim);
    if (!value.has_value() || *value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, ": shape dims must be non-negative integers, got ", Describe(dim)));
    }
    int64_t d = static_cast<int64_t>(*value);
    if (d != 0 && num_elements > std::numeric_limits<int64_t>::max() / d) {
      return absl::InvalidArgumentError(absl::StrCat(who, ": shape is too large"));
    }
    num_elements *= d;
    view.shape.push_back(d);
  }
  const uint64_t elem_size = DTypeSize(view.dtype);
  if (static_cast<uint64_t>(num_elements) > std::numeric_limits<uint64_t>::max() / elem_size) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": shape is too large"));
  }
  const uint64_t expected_bytes = static_cast<uint64_t>(num_elements) * elem_size;

  const Json& offsets = entry["data_offsets"];
  std::optional<uint64_t> begin, end;
  if (offsets.is_array() && offsets.size() == 2) {
    begin = AsNonNegativeInt(offsets[0]);
    end = AsNonNegativeInt(offsets[1]);
  }
  if (!begin.has_value() || !end.has_value() || *begin > *end) {
    return absl::InvalidArgumentError(absl::StrCat(
        who, ": data_offsets must be a pair [begin, end] of integers with begin <= end"));
  }
  if (*end - *begin != expected_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, " has shape ", ShapeToString(view.shape), " and dtype ",
                     StoredDTypeName(view.dtype), ", which needs ", expected_bytes,
                     " bytes, but its data_offsets span ", *end - *begin, " bytes"));
  }
  if (*end > data_size) {
    return absl::InvalidArgumentError(absl::StrCat("file is truncated: ", who, " ends at byte ",
                                                   *end, " of the data section, which holds only ",
                                                   data_size, " bytes"));
  }
  view.data = data + *begin;
  return view;
}

}  // namespace

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) munmap(mapping_, mapping_size_);
}

absl::StatusOr<std::map<std::string, TensorView>> ParseSafetensors(std::string_view bytes) {
  const size_t size = bytes.size();
  if (size < 8) return ShorterThanHeaderLength(size);
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | raw[i];
  if (header_size > size - 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("file is truncated or not safetensors: header length ", header_size,
                     " is larger than the ", size - 8, " bytes after it"));
  }
  const char* header_begin = bytes.data() + 8;
  EGMLA_ASSIGN_OR_RETURN(Json header, ParseHeader(header_begin, header_begin + header_size));
  const char* data = header_begin + header_size;
  const uint64_t data_size = size - 8 - header_size;
  std::map<std::string, TensorView> tensors;
  std::vector<DataRange> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) continue;
    EGMLA_ASSIGN_OR_RETURN(TensorView view, ParseEntry(name, entry, data, data_size));
    const auto begin = static_cast<uint64_t>(static_cast<const char*>(view.data) - data);
    ranges.push_back({begin, begin + view.num_bytes(), name});
    tensors.emplace(name, std::move(view));
  }
  EGMLA_RETURN_IF_ERROR(CheckTiling(std::move(ranges), data_size));
  return tensors;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseSafetensorsIndex(
    std::string_view json_text) {
  Json index;
  try {
    index = Json::parse(json_text);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", e.what()));
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return absl::InvalidArgumentError("expected an object with a 'weight_map' object");
  }
  std::vector<std::pair<std::string, std::string>> weight_map;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string() || shard.get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("weight_map entry for tensor '", tensor,
                                                     "' must be a shard file name, got ",
                                                     Describe(shard)));
    }
    const std::string& name = shard.get_ref<const std::string&>();
    // A shard is a file beside the index: a path ("../x", "/etc/x", "a/b") would let a
    // downloaded checkpoint make the server open any file it can read.
    if (name.find('/') != std::string::npos || name == "." || name == ".." ||
        name.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("weight_map entry for tensor '", tensor,
                                                     "' must be a file name in the model's "
                                                     "directory, got '",
                                                     name, "'"));
    }
    weight_map.emplace_back(tensor, name);
  }
  return weight_map;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  auto error = [&path](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
  };
  EGMLA_ASSIGN_OR_RETURN(RegularFile opened, OpenRegularFile(path));
  const size_t size = opened.size();
  // mmap refuses an empty mapping; ParseSafetensors would refuse the file anyway.
  if (size < 8) return error(ShorterThanHeaderLength(size).message());
  void* mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, opened.fd(), 0);
  if (mapping == MAP_FAILED) return error(absl::StrCat("mmap failed: ", std::strerror(errno)));
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = mapping;
  file->mapping_size_ = size;
  absl::StatusOr<std::map<std::string, TensorView>> tensors =
      ParseSafetensors(std::string_view(static_cast<const char*>(mapping), size));
  if (!tensors.ok()) return error(tensors.status().message());
  file->tensors_ = *std::move(tensors);
  return file;
}

absl::StatusOr<CheckpointTensors> CheckpointTensors::Open(const std::string& dir) {
  CheckpointTensors result;
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (!NameExists(index_path)) {
    const std::string single_path = dir + "/model.safetensors";
    if (!NameExists(single_path)) {
      return absl::NotFoundError(absl::StrCat(
          dir, ": no model.safetensors or model.safetensors.index.json in this directory"));
    }
    EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                           SafetensorsFile::Open(single_path));
    result.tensors_ = file->tensors();
    result.files_.push_back(std::move(file));
    return result;
  }

  auto error = [&index_path](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": ", message));
  };
  EGMLA_ASSIGN_OR_RETURN(std::string text, ReadRegularFile(index_path));
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> weight_map =
      ParseSafetensorsIndex(text);
  if (!weight_map.ok()) return error(weight_map.status().message());
  // Shard file name -> index into files_; each distinct shard is opened once.
  std::map<std::string, size_t> shard_index;
  for (const auto& [tensor, shard_name] : *weight_map) {
    auto it = shard_index.find(shard_name);
    if (it == shard_index.end()) {
      EGMLA_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                             SafetensorsFile::Open(dir + "/" + shard_name));
      it = shard_index.emplace(shard_name, result.files_.size()).first;
      result.files_.push_back(std::move(file));
    }
    const SafetensorsFile& file = *result.files_[it->second];
    if (!file.tensors().contains(tensor)) {
      return error(absl::StrCat("weight_map puts tensor '", tensor, "' in shard ", file.path(),
                                ", which does not contain it"));
    }
  }
  std::map<std::string, const SafetensorsFile*> owner;
  for (const std::unique_ptr<SafetensorsFile>& file : result.files_) {
    for (const auto& [name, view] : file->tensors()) {
      auto [it, inserted] = owner.emplace(name, file.get());
      if (!inserted) {
        return error(absl::StrCat("tensor '", name, "' is present in two shards: ",
                                  it->second->path(), " and ", file->path()));
      }
      result.tensors_.emplace(name, view);
    }
  }
  return result;
}

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, TensorView>>& tensors) {
  auto error = [&path](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
  };
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const auto& [name, view] : tensors) {
    if (name == kMetadataKey || header.contains(name)) {
      return error(absl::StrCat("cannot write tensor '", name, "': duplicate or reserved name"));
    }
    for (int64_t d : view.shape) {
      if (d < 0) {
        return error(absl::StrCat("cannot write tensor '", name, "': negative dim in shape ",
                                  ShapeToString(view.shape)));
      }
    }
    const uint64_t num_bytes = view.num_bytes();
    if (num_bytes > 0 && view.data == nullptr) {
      return error(absl::StrCat("cannot write tensor '", name, "': no data"));
    }
    header[name] = {{"dtype", StoredDTypeName(view.dtype)},
                    {"shape", view.shape},
                    {"data_offsets", {offset, offset + num_bytes}}};
    offset += num_bytes;
  }
  std::string header_text = header.dump(-1, ' ', false, Json::error_handler_t::replace);
  // Pad with spaces so the data section starts 8-byte aligned, as the official library does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) {
    prefix[i] = static_cast<char>((static_cast<uint64_t>(header_text.size()) >> (8 * i)) & 0xff);
  }

  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return error(absl::StrCat("cannot open for writing: ", std::strerror(errno)));
  }
  auto write_all = [fd](const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = write(fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  bool ok =
      write_all(prefix.data(), prefix.size()) && write_all(header_text.data(), header_text.size());
  for (size_t i = 0; ok && i < tensors.size(); ++i) {
    ok = write_all(tensors[i].second.data, tensors[i].second.num_bytes());
  }
  int write_errno = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    write_errno = errno;
  }
  if (!ok) return error(absl::StrCat("write failed: ", std::strerror(write_errno)));
  return absl::OkStatus();
}

}  // namespace egmla
