#include "common/api_key.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/regular_file.h"

namespace egmla {
namespace {

// What an unsendable byte is. Control characters and the space are named by value (they say
// nothing of the key); other bytes are not, so no part of a key is ever printed.
std::string DescribeByte(unsigned char byte) {
  if (byte == ' ') return "a space";
  if (byte == '\n') return "a line break (0x0A)";
  if (byte < 0x20 || byte == 0x7F) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", byte);
    return absl::StrCat("a control character (", hex, ")");
  }
  return "a non-ASCII byte";
}

}  // namespace

absl::StatusOr<std::string> ReadApiKeyFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(flag, ": ", text.status().message()));
  }
  const absl::string_view key = absl::StripAsciiWhitespace(*text);
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is empty"));
  const size_t key_offset = static_cast<size_t>(key.data() - text->data());
  for (size_t i = 0; i < key.size(); ++i) {
    const auto byte = static_cast<unsigned char>(key[i]);
    if (byte < 0x21 || byte > 0x7E) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": ", path, ": the key has ", DescribeByte(byte), " at byte offset ",
          key_offset + i, " of the file; a key may hold only visible ASCII (0x21..0x7E), ",
          "the bytes an HTTP authorization header can carry"));
    }
  }
  return std::string(key);
}

}  // namespace egmla
