// UTF-8 helpers for the tokenizers and the streaming detokenizer. Well-formed UTF-8 is as the
// Unicode standard (Table 3-7) defines it: no overlong forms, no surrogates, nothing past
// U+10FFFF. Replacement follows the standard's "maximal subpart" practice (one U+FFFD per
// maximal subpart of an ill-formed sequence), as Rust's from_utf8_lossy and the WHATWG decoder do.
#ifndef EGMLA_TOKENIZER_TOKENIZER_UTF8_H_
#define EGMLA_TOKENIZER_TOKENIZER_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace egmla {

// U+FFFD REPLACEMENT CHARACTER, UTF-8 encoded.
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

// What starts at one offset of a byte string.
struct Utf8Unit {
  enum class Kind {
    kChar,       // a well-formed character of `length` bytes
    kTruncated,  // `length` bytes that begin a character and reach the end of the input
    kInvalid,    // an ill-formed maximal subpart of `length` (>= 1) bytes
  };
  Kind kind;
  size_t length;
  char32_t code_point;  // valid for kChar only
};

// REQUIRES: offset < text.size().
Utf8Unit DecodeUtf8Unit(std::string_view text, size_t offset);

// The byte offset of the first byte that is not part of a well-formed character (a truncated
// character at the end counts as ill-formed), or nullopt when `text` is well-formed UTF-8.
std::optional<size_t> FirstInvalidUtf8Offset(std::string_view text);

inline bool IsValidUtf8(std::string_view text) { return !FirstInvalidUtf8Offset(text); }

// Length of the trailing bytes that begin a character but do not complete it (0 to 3): the bytes
// a streaming decoder must hold back until more input arrives.
size_t IncompleteUtf8SuffixLength(std::string_view text);

// `text` with each maximal ill-formed subpart (a truncated tail included) replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

// Appends the UTF-8 encoding of `code_point`. REQUIRES: a Unicode scalar value.
void AppendUtf8(char32_t code_point, std::string* out);

}  // namespace egmla

#endif  // EGMLA_TOKENIZER_TOKENIZER_UTF8_H_
