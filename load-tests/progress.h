// The live progress line on stderr while a load run goes on.
#ifndef EGMLA_LOAD_TESTS_PROGRESS_H_
#define EGMLA_LOAD_TESTS_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

namespace egmla::loadgen {

struct ProgressSnapshot {
  double elapsed_s = 0;
  int64_t sent = 0;
  std::optional<int64_t> total;  // requests to send; none when bounded by time
  int64_t done = 0;              // finished, succeeded or not
  int64_t failed = 0;
  int64_t in_flight = 0;
  int64_t output_tokens = 0;  // received so far
};

// "[ 12.3s] sent 120/300 done 97 failed 0 in-flight 23 tok/s 812"; `tokens_per_second` is the
// recent output-token rate.
std::string FormatProgress(const ProgressSnapshot& snapshot, double tokens_per_second);

// Prints the line every `interval_s` from its own thread until Stop(): on a terminal it
// rewrites one line ('\r'); otherwise (a log file) it prints a full line every 5 s. The token
// rate shown is that of the last second or so; the final line shows the run's average.
class ProgressPrinter {
 public:
  ProgressPrinter(std::function<ProgressSnapshot()> snapshot, double interval_s);
  ~ProgressPrinter();  // stops

  // Prints the final line and stops the thread. Idempotent.
  void Stop();

 private:
  void Loop();
  void Print(bool final_line);

  std::function<ProgressSnapshot()> snapshot_;
  double interval_s_;
  bool terminal_;
  // Only the printer thread touches these (and Stop() after joining it).
  double last_print_s_ = 0;
  double window_start_s_ = 0;
  int64_t window_start_tokens_ = 0;
  double tokens_per_second_ = 0;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_PROGRESS_H_
