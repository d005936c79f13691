#include "load-tests/progress.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace egmla::loadgen {
namespace {

constexpr double kLogIntervalSeconds = 5;
constexpr double kRateWindowSeconds = 1;

}  // namespace

std::string FormatProgress(const ProgressSnapshot& s, double tokens_per_second) {
  const std::string total = s.total ? absl::StrCat("/", *s.total) : "";
  return absl::StrFormat("[%5.1fs] sent %d%s done %d failed %d in-flight %d tok/s %.0f",
                         s.elapsed_s, s.sent, total, s.done, s.failed, s.in_flight,
                         tokens_per_second);
}

ProgressPrinter::ProgressPrinter(std::function<ProgressSnapshot()> snapshot, double interval_s)
    : snapshot_(std::move(snapshot)),
      interval_s_(interval_s),
      terminal_(isatty(STDERR_FILENO) == 1),
      thread_([this] { Loop(); }) {}

ProgressPrinter::~ProgressPrinter() { Stop(); }

void ProgressPrinter::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  Print(/*final_line=*/true);
}

void ProgressPrinter::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(interval_s_))) {
    Print(/*final_line=*/false);
  }
}

void ProgressPrinter::Print(bool final_line) {
  const ProgressSnapshot s = snapshot_();
  const double window = s.elapsed_s - window_start_s_;
  if (window >= kRateWindowSeconds) {
    tokens_per_second_ = static_cast<double>(s.output_tokens - window_start_tokens_) / window;
    window_start_s_ = s.elapsed_s;
    window_start_tokens_ = s.output_tokens;
  }
  if (!terminal_ && !final_line && s.elapsed_s - last_print_s_ < kLogIntervalSeconds) return;
  last_print_s_ = s.elapsed_s;
  const double rate = final_line && s.elapsed_s > 0
                          ? static_cast<double>(s.output_tokens) / s.elapsed_s
                          : tokens_per_second_;
  const std::string line = FormatProgress(s, rate);
  if (terminal_) {
    std::fprintf(stderr, "\r%s\x1b[K%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace egmla::loadgen
