#include "load-tests/load_runner.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"

namespace egmla::loadgen {
namespace {

Clock::time_point After(Clock::time_point start, double seconds) {
  return start +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool Passed(std::optional<Clock::time_point> deadline) {
  return deadline && Clock::now() >= *deadline;
}

}  // namespace

LoadRunner::LoadRunner(RunOptions options, CallFactory* calls, ArrivalProcess* arrivals,
                       RequestGenerator* requests)
    : options_(std::move(options)),
      call_factory_(calls),
      arrivals_(arrivals),
      requests_(requests) {}

RunResult LoadRunner::Run() {
  start_ = Clock::now();
  {
    absl::MutexLock lock(&mu_);
    last_done_ = start_;
  }
  std::optional<ProgressPrinter> progress;
  if (options_.progress) {
    progress.emplace([this] { return Snapshot(); }, options_.progress_interval_s);
  }
  std::optional<Clock::time_point> end_of_sending;
  if (options_.duration_s) end_of_sending = After(start_, *options_.duration_s);

  // The first request goes at once; each later one a drawn gap after the one before (its
  // arrival), and as soon as a slot is free when --max-concurrency holds it back.
  double arrival_s = 0;
  for (int64_t i = 0; !options_.num_requests || i < *options_.num_requests; ++i) {
    if (i > 0) arrival_s += arrivals_->NextGapSeconds();
    const Clock::time_point arrival = After(start_, arrival_s);
    if (end_of_sending && arrival >= *end_of_sending) break;
    if (Wait(Until::kDeadline, arrival) == Outcome::kInterrupted) break;
    if (Wait(Until::kFreeSlot, end_of_sending) != Outcome::kReady) break;
    Send();
  }
  Wait(Until::kAllDone, std::nullopt);
  if (progress) progress->Stop();

  RunResult result;
  absl::MutexLock lock(&mu_);
  result.records = std::move(records_);
  std::sort(result.records.begin(), result.records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.index < b.index; });
  result.duration_s = std::chrono::duration<double>(last_done_ - start_).count();
  result.interrupted = interrupted_;
  return result;
}

void LoadRunner::Send() {
  RequestSpec spec = requests_->Next();
  std::unique_ptr<Call> call = call_factory_->NewCall(spec, options_.request_params, start_, this);
  Call* started = call.get();
  calls_.emplace(spec.index, std::move(call));
  {
    absl::MutexLock lock(&mu_);
    ++sent_;
    ++in_flight_;
  }
  started->Start();
}

bool LoadRunner::ReadyLocked(Until until) const {
  switch (until) {
    case Until::kDeadline:
      return false;
    case Until::kFreeSlot:
      return options_.max_concurrency == 0 || in_flight_ < options_.max_concurrency;
    case Until::kAllDone:
      return in_flight_ == 0;
  }
  return false;
}

LoadRunner::Outcome LoadRunner::Wait(Until until, std::optional<Clock::time_point> deadline) {
  for (;;) {
    std::vector<int64_t> finished;
    std::optional<Outcome> outcome;  // none: wait on
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      while (!(interrupted_ && !cancelled_) && finished_.empty() && !ReadyLocked(until) &&
             !Passed(deadline)) {
        if (deadline) {
          changed_.WaitWithTimeout(&mu_, absl::FromChrono(*deadline - Clock::now()));
        } else {
          changed_.Wait(&mu_);
        }
      }
      finished.swap(finished_);
      cancel = interrupted_ && !cancelled_;
      if (ReadyLocked(until)) {
        outcome = Outcome::kReady;
      } else if (interrupted_ && until != Until::kAllDone) {
        outcome = Outcome::kInterrupted;
      } else if (Passed(deadline)) {
        outcome = until == Until::kDeadline ? Outcome::kReady : Outcome::kTimedOut;
      }
    }
    for (int64_t index : finished) calls_.erase(index);
    if (cancel) CancelAll();
    if (outcome) return *outcome;
  }
}

void LoadRunner::CancelAll() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  for (auto& [index, call] : calls_) call->Cancel();
}

void LoadRunner::Interrupt() {
  absl::MutexLock lock(&mu_);
  interrupted_ = true;
  changed_.SignalAll();
}

void LoadRunner::OnTokens(int64_t num_tokens) {
  output_tokens_.fetch_add(num_tokens, std::memory_order_relaxed);
}

void LoadRunner::OnCallDone(RequestRecord record) {
  absl::MutexLock lock(&mu_);
  last_done_ = std::max(last_done_, Clock::now());
  if (!record.succeeded()) ++failed_;
  finished_.push_back(record.index);
  records_.push_back(std::move(record));
  --in_flight_;
  changed_.SignalAll();
}

ProgressSnapshot LoadRunner::Snapshot() {
  ProgressSnapshot s{.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count(),
                     .total = options_.num_requests,
                     .output_tokens = output_tokens_.load(std::memory_order_relaxed)};
  absl::MutexLock lock(&mu_);
  s.sent = sent_;
  s.done = static_cast<int64_t>(records_.size());
  s.failed = failed_;
  s.in_flight = in_flight_;
  return s;
}

}  // namespace egmla::loadgen
