// Command-line parsing shared by every program's main: DESIGN's dashed flag names mapped to
// absl's (flag_names.h), then absl::ParseCommandLine (an unknown or invalid flag prints a
// message and exits 1).
#ifndef EGMLA_COMMON_COMMAND_LINE_H_
#define EGMLA_COMMON_COMMAND_LINE_H_

#include <string>
#include <vector>

namespace egmla {

struct CommandLine {
  std::vector<std::string> args;        // argv with flag names normalized
  std::vector<std::string> positional;  // the non-flag arguments, argv[0] left out
};

CommandLine ParseCommandLine(int argc, char** argv);

}  // namespace egmla

#endif  // EGMLA_COMMON_COMMAND_LINE_H_
