// Requests sent one at a time before the measured run, as vLLM's "initial test run": they
// check that the server accepts the workload (auth, lengths) and warm it up (first steps of a
// fresh server are slow). They are not part of the results.
#ifndef EGMLA_LOAD_TESTS_WARMUP_H_
#define EGMLA_LOAD_TESTS_WARMUP_H_

#include <cstdint>

#include "absl/status/status.h"
#include "load-tests/call.h"
#include "load-tests/request_generator.h"

namespace egmla::loadgen {

// At most this many tokens are generated per warm-up request.
inline constexpr int64_t kWarmupMaxTokens = 16;

// Sends `num_requests` requests drawn from `requests` (max_tokens capped) through `calls` and
// waits for each. Returns the first failure: its status (gRPC code name or HTTP_<status>) and
// message, or a stream that ended without its final message.
absl::Status Warmup(CallFactory* calls, RequestGenerator* requests, const RequestParams& params,
                    int64_t num_requests);

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_WARMUP_H_
