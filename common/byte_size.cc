#include "common/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace egmla {

std::optional<int64_t> ParseByteSize(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(number) || number < 0) return std::nullopt;
  std::string unit;
  for (const char* p = end; *p; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p))) {
      unit += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    }
  }
  double scale = 1;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "kib" || unit == "ki") {
    scale = 1024.0;
  } else if (unit == "mib" || unit == "mi") {
    scale = 1024.0 * 1024;
  } else if (unit == "gib" || unit == "gi") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "tib" || unit == "ti") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else if (unit == "kb" || unit == "k") {
    scale = 1e3;
  } else if (unit == "mb" || unit == "m") {
    scale = 1e6;
  } else if (unit == "gb" || unit == "g") {
    scale = 1e9;
  } else if (unit == "tb" || unit == "t") {
    scale = 1e12;
  } else {
    return std::nullopt;
  }
  const double bytes = number * scale;
  if (bytes > std::ldexp(1.0, 62)) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

}  // namespace egmla
