#include "server/liveness_watch.h"

#include "spdlog/spdlog.h"

namespace egmla {

LivenessWatch::LivenessWatch(std::function<absl::Duration()> stalled_for, absl::Duration timeout,
                             std::function<void(bool live)> set_live, absl::Duration period)
    : stalled_for_(std::move(stalled_for)), timeout_(timeout), set_live_(std::move(set_live)) {
  if (period <= absl::ZeroDuration()) return;
  thread_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, absl::ToChronoNanoseconds(period),
                           [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; })) {
      lock.unlock();
      Check();
      lock.lock();
    }
  });
}

LivenessWatch::~LivenessWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LivenessWatch::Check() {
  const absl::Duration stalled = stalled_for_();
  const bool live = stalled <= timeout_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (live == live_) return live;
    live_ = live;
  }
  if (live) {
    spdlog::warn("liveness: the engine made progress again; liveness SERVING");
  } else {
    spdlog::error(
        "liveness: the engine has had work and made no progress for {}; liveness "
        "NOT_SERVING (a supervisor should restart this server)",
        absl::FormatDuration(stalled));
  }
  set_live_(live);
  return live;
}

}  // namespace egmla
