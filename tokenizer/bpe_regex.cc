#include "tokenizer/bpe_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

std::string Pcre2Message(int error_code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(error_code, buffer, sizeof(buffer));
  if (n < 0) return absl::StrCat("PCRE2 error ", error_code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BpeRegex>> BpeRegex::Compile(std::string_view pattern,
                                                            bool literal) {
  // PCRE2_LITERAL refuses PCRE2_UCP (which has nothing to do there).
  const uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error_code, &error_offset, /*ccontext=*/nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("regex does not compile at offset ",
                                                   error_offset, ": ", Pcre2Message(error_code)));
  }
  // JIT is only a speed-up: without it (unsupported CPU, no executable memory) pcre2_match
  // interprets the same pattern.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return std::unique_ptr<BpeRegex>(new BpeRegex(code));
}

BpeRegex::~BpeRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

absl::Status BpeRegex::FindAll(std::string_view subject,
                               std::vector<std::pair<size_t, size_t>>* matches) const {
  const auto* code = static_cast<const pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(code, nullptr));
  if (data == nullptr) return absl::ResourceExhaustedError("out of memory for regex match data");
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t offset = 0;
  while (offset < subject.size()) {
    // NO_UTF_CHECK: the caller validated `subject` once; PCRE2 would otherwise re-check it from
    // `offset` on every call, which is quadratic.
    int rc =
        pcre2_match(code, text, subject.size(), offset, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {  // the interpreter has larger limits
      rc = pcre2_match(code, text, subject.size(), offset, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       data.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("regex match failed at byte ", offset, ": ", Pcre2Message(rc)));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end > begin && begin >= offset) {
      matches->emplace_back(begin, end);
      offset = end;
      continue;
    }
    // An empty match (or a \K oddity): step over one character (the subject is valid UTF-8).
    offset = std::max(offset, begin) + 1;
    while (offset < subject.size() && (static_cast<uint8_t>(subject[offset]) & 0xC0) == 0x80) {
      ++offset;
    }
  }
  return absl::OkStatus();
}

bool BpeRegex::FullMatch(std::string_view subject) const {
  const auto* code = static_cast<const pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(code, nullptr));
  if (data == nullptr) return false;
  // Anchoring options at match time are not JIT-compiled; PCRE2 interprets the pattern.
  return pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                     PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, data.get(),
                     nullptr) >= 0;
}

}  // namespace egmla
