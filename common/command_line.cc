#include "common/command_line.h"

#include "absl/flags/parse.h"
#include "common/flag_names.h"

namespace egmla {

CommandLine ParseCommandLine(int argc, char** argv) {
  CommandLine line{.args = NormalizeFlagNames(argc, argv)};
  std::vector<std::string> copy = line.args;  // absl keeps pointers into what it is given
  std::vector<char*> pointers;
  for (std::string& a : copy) pointers.push_back(a.data());
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
  for (size_t i = 1; i < positional.size(); ++i) line.positional.emplace_back(positional[i]);
  return line;
}

}  // namespace egmla
