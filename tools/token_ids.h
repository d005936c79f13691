// Parsing of token-id lists given on the command line or in prompt files.
#ifndef EGMLA_TOOLS_TOKEN_IDS_H_
#define EGMLA_TOOLS_TOKEN_IDS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace egmla::cli {

// "1,2,3" (commas and/or whitespace between non-negative integers). Errors name the bad item.
absl::StatusOr<std::vector<int32_t>> ParseTokenIds(absl::string_view text);

// True when `line` holds only integers separated by commas or whitespace (and at least one).
bool IsTokenIdLine(absl::string_view line);

}  // namespace egmla::cli

#endif  // EGMLA_TOOLS_TOKEN_IDS_H_
