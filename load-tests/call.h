// One request of a load run, whatever carries it (gRPC Generate or the OpenAI-compatible HTTP
// API), and the factory that makes them: LoadRunner and Warmup see only these.
#ifndef EGMLA_LOAD_TESTS_CALL_H_
#define EGMLA_LOAD_TESTS_CALL_H_

#include <chrono>
#include <cstdint>
#include <memory>

#include "load-tests/request_generator.h"
#include "load-tests/request_record.h"

namespace egmla::loadgen {

using Clock = std::chrono::steady_clock;

// Told about a call's progress. Called on the transport's threads: must be thread-safe and
// must not block for long.
class CallListener {
 public:
  virtual ~CallListener() = default;
  // A chunk with `num_tokens` tokens arrived.
  virtual void OnTokens(int64_t num_tokens) = 0;
  // The call finished. Called once, last; the call must not be destroyed before this returns.
  virtual void OnCallDone(RequestRecord record) = 0;
};

// The owner destroys a call only after the listener's OnCallDone for it has returned.
class Call {
 public:
  virtual ~Call() = default;
  // Sends the request. Call once.
  virtual void Start() = 0;
  // Cancels the call if it still runs (it then finishes with CANCELLED). Thread-safe.
  virtual void Cancel() = 0;
};

class CallFactory {
 public:
  virtual ~CallFactory() = default;
  // A call for `spec`, not started yet. `run_start` is when the load run began
  // (RequestRecord::start_s counts from it); `listener` must outlive the call.
  virtual std::unique_ptr<Call> NewCall(const RequestSpec& spec, const RequestParams& params,
                                        Clock::time_point run_start, CallListener* listener) = 0;
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_CALL_H_
