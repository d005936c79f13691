#include "tokenizer/tokenizer_utf8.h"

namespace egmla {
namespace {

// The valid range of the second byte for a lead byte (Unicode Table 3-7); later continuation
// bytes are always 0x80..0xBF.
struct LeadInfo {
  size_t length;  // 0: not a lead byte
  uint8_t second_min;
  uint8_t second_max;
};

LeadInfo Lead(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

Utf8Unit DecodeUtf8Unit(std::string_view text, size_t offset) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[offset + i]); };
  const uint8_t lead = byte(0);
  const LeadInfo info = Lead(lead);
  if (info.length == 0) return {Utf8Unit::Kind::kInvalid, 1, 0};
  if (info.length == 1) return {Utf8Unit::Kind::kChar, 1, lead};
  char32_t code_point = lead & (0x7F >> info.length);
  for (size_t i = 1; i < info.length; ++i) {
    if (offset + i >= text.size()) return {Utf8Unit::Kind::kTruncated, i, 0};
    const uint8_t b = byte(i);
    const uint8_t lo = i == 1 ? info.second_min : 0x80;
    const uint8_t hi = i == 1 ? info.second_max : 0xBF;
    if (b < lo || b > hi) return {Utf8Unit::Kind::kInvalid, i, 0};
    code_point = (code_point << 6) | (b & 0x3F);
  }
  return {Utf8Unit::Kind::kChar, info.length, code_point};
}

std::optional<size_t> FirstInvalidUtf8Offset(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    const Utf8Unit unit = DecodeUtf8Unit(text, i);
    if (unit.kind != Utf8Unit::Kind::kChar) return i;
    i += unit.length;
  }
  return std::nullopt;
}

size_t IncompleteUtf8SuffixLength(std::string_view text) {
  // A character is at most 4 bytes, so only a lead byte among the last 3 can be incomplete.
  const size_t begin = text.size() > 3 ? text.size() - 3 : 0;
  for (size_t i = text.size(); i > begin; --i) {
    const uint8_t b = static_cast<uint8_t>(text[i - 1]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for its lead
    const Utf8Unit unit = DecodeUtf8Unit(text, i - 1);
    return unit.kind == Utf8Unit::Kind::kTruncated ? text.size() - (i - 1) : 0;
  }
  return 0;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const Utf8Unit unit = DecodeUtf8Unit(text, i);
    if (unit.kind == Utf8Unit::Kind::kChar) {
      out.append(text.substr(i, unit.length));
    } else {
      out.append(kUtf8Replacement);
    }
    i += unit.length;
  }
  return out;
}

void AppendUtf8(char32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace egmla
