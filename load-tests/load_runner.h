// Drives a load run: sends requests at the arrival process's times, at most max_concurrency at
// once, and collects a RequestRecord for each.
#ifndef EGMLA_LOAD_TESTS_LOAD_RUNNER_H_
#define EGMLA_LOAD_TESTS_LOAD_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "load-tests/arrival_process.h"
#include "load-tests/call.h"
#include "load-tests/progress.h"
#include "load-tests/request_generator.h"
#include "load-tests/request_record.h"

namespace egmla::loadgen {

struct RunOptions {
  // Requests to send; none = as many as fit in `duration_s`. At least one of the two is set.
  std::optional<int64_t> num_requests;
  // Stop sending once this many seconds have passed (calls in flight are waited for).
  std::optional<double> duration_s;
  int64_t max_concurrency = 0;  // calls in flight at most; 0 = unlimited
  RequestParams request_params;
  bool progress = true;  // the live line on stderr
  double progress_interval_s = 0.25;
};

struct RunResult {
  std::vector<RequestRecord> records;  // ordered by index
  double duration_s = 0;               // first call started .. last call finished
  bool interrupted = false;
};

// Threading: Run() on one thread; Interrupt() from any. The calls' threads (gRPC's, or the HTTP
// client's) report through the CallListener methods.
class LoadRunner : public CallListener {
 public:
  // `calls`, `arrivals` and `requests` must outlive the runner.
  LoadRunner(RunOptions options, CallFactory* calls, ArrivalProcess* arrivals,
             RequestGenerator* requests);

  // Sends the requests and waits for all of them. Call once.
  RunResult Run();

  // Stops sending and cancels the calls in flight (they are recorded as CANCELLED); Run() then
  // returns what it has. Thread-safe.
  void Interrupt();

  void OnTokens(int64_t num_tokens) override;
  void OnCallDone(RequestRecord record) override;

 private:
  enum class Until { kDeadline, kFreeSlot, kAllDone };
  enum class Outcome { kReady, kTimedOut, kInterrupted };
  // Waits for `until` (kDeadline: the deadline itself) or the deadline, whichever comes first;
  // meanwhile destroys finished calls and, after an interrupt, cancels those in flight. An
  // interrupt ends any wait but kAllDone's. Run()'s thread only.
  Outcome Wait(Until until, std::optional<Clock::time_point> deadline);
  bool ReadyLocked(Until until) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the next request now.
  void Send();
  void CancelAll();
  ProgressSnapshot Snapshot();

  const RunOptions options_;
  CallFactory* call_factory_;
  ArrivalProcess* arrivals_;
  RequestGenerator* requests_;
  Clock::time_point start_;

  // Calls started and not yet destroyed. Only Run()'s thread touches it.
  std::map<int64_t, std::unique_ptr<Call>> calls_;
  std::atomic<int64_t> output_tokens_{0};

  mutable absl::Mutex mu_;
  absl::CondVar changed_;  // a call finished, or an interrupt
  std::vector<RequestRecord> records_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> finished_ ABSL_GUARDED_BY(mu_);  // indexes to reap
  int64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::time_point last_done_ ABSL_GUARDED_BY(mu_);
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;  // CancelAll ran
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_LOAD_RUNNER_H_
