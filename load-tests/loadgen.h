// egmla-loadgen's whole run, from checked options to the printed summary and the JSON file.
#ifndef EGMLA_LOAD_TESTS_LOADGEN_H_
#define EGMLA_LOAD_TESTS_LOADGEN_H_

#include "load-tests/loadgen_options.h"

namespace egmla::loadgen {

// Exit codes.
inline constexpr int kExitOk = 0;           // the run finished (failed requests are reported)
inline constexpr int kExitSetupFailed = 1;  // GetModelInfo failed, a prompt does not fit, ...
inline constexpr int kExitUsage = 2;        // bad flags or files
inline constexpr int kExitInterrupted = 130;

// Asks the server for its model, checks the prompts against it, runs the load, prints the
// summary table on stdout and writes --output-json. Errors go to stderr as
// "egmla-loadgen: message". REQUIRES: BlockInterruptSignals() ran first in main.
int RunLoadgen(const LoadgenOptions& options);

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_LOADGEN_H_
