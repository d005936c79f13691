#include "tools/token_ids.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace egmla::cli {

absl::StatusOr<std::vector<int32_t>> ParseTokenIds(absl::string_view text) {
  std::vector<int32_t> ids;
  for (absl::string_view item :
       absl::StrSplit(text, absl::ByAnyChar(", \t\r\n"), absl::SkipEmpty())) {
    int32_t id;
    if (!absl::SimpleAtoi(item, &id) || id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("token ids: '", item, "' is not a non-negative integer"));
    }
    ids.push_back(id);
  }
  if (ids.empty()) return absl::InvalidArgumentError("token ids: the list is empty");
  return ids;
}

bool IsTokenIdLine(absl::string_view line) {
  bool any_digit = false;
  for (char ch : line) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(ch))) {
      any_digit = true;
    } else if (ch != ',' && !absl::ascii_isspace(static_cast<unsigned char>(ch))) {
      return false;
    }
  }
  return any_digit;
}

}  // namespace egmla::cli
