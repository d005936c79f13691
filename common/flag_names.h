// DESIGN §5.1 spells flags with dashes (--logits-out); absl flag names cannot contain dashes.
#ifndef EGMLA_COMMON_FLAG_NAMES_H_
#define EGMLA_COMMON_FLAG_NAMES_H_

#include <string>
#include <vector>

namespace egmla {

// Returns argv with dashes inside double-dash flag names turned into underscores
// ("--logits-out=x" becomes "--logits_out=x"), up to a bare "--", after which everything is
// positional. Values after '=' and single-dash arguments (negative numbers, "-text") are never
// touched; a separate value that itself starts with "--" must follow a bare "--" or use '='.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

}  // namespace egmla

#endif  // EGMLA_COMMON_FLAG_NAMES_H_
