// Checked reads of tokenizer.json fields (nlohmann::json) that return errors instead of throwing.
// `where` names the enclosing object in messages, e.g. "pre_tokenizer.pretokenizers[1]".
#ifndef EGMLA_TOKENIZER_BPE_JSON_H_
#define EGMLA_TOKENIZER_BPE_JSON_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace egmla::bpe_json {

using Json = nlohmann::json;

inline absl::Status FieldError(std::string_view where, std::string_view key,
                               std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer.json ", std::string(where), ".",
                                                 std::string(key), ": ", std::string(message)));
}

// Null when `object` lacks `key` or holds JSON null there. REQUIRES: object.is_object().
inline const Json* Find(const Json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

inline absl::StatusOr<bool> OptionalBool(const Json& object, std::string_view key, bool fallback,
                                         std::string_view where) {
  const Json* value = Find(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return FieldError(where, key, "expected true or false");
  return value->get<bool>();
}

// nullopt when absent or null.
inline absl::StatusOr<std::optional<std::string>> OptionalString(const Json& object,
                                                                 std::string_view key,
                                                                 std::string_view where) {
  const Json* value = Find(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) return FieldError(where, key, "expected a string");
  return value->get<std::string>();
}

inline absl::StatusOr<std::string> RequiredString(const Json& object, std::string_view key,
                                                  std::string_view where) {
  const Json* value = Find(object, key);
  if (value == nullptr) return FieldError(where, key, "missing");
  if (!value->is_string()) return FieldError(where, key, "expected a string");
  return value->get<std::string>();
}

}  // namespace egmla::bpe_json

#endif  // EGMLA_TOKENIZER_BPE_JSON_H_
