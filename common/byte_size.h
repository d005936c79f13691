// Byte sizes on the command line: "1073741824", "512MiB", "2GiB", "1.5GB", "64KB".
#ifndef EGMLA_COMMON_BYTE_SIZE_H_
#define EGMLA_COMMON_BYTE_SIZE_H_

#include <cstdint>
#include <optional>
#include <string>

namespace egmla {

// Binary (KiB, MiB, GiB, TiB) and decimal (KB, MB, GB, TB) suffixes, case-insensitive, optional
// "B"; nullopt for anything else, a negative value or one over 2^62.
std::optional<int64_t> ParseByteSize(const std::string& text);

}  // namespace egmla

#endif  // EGMLA_COMMON_BYTE_SIZE_H_
