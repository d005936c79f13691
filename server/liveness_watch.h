// The server's liveness (grpc.health.v1 service "", DESIGN §5): NOT_SERVING while the engine has
// had work and made no progress for longer than a timeout, SERVING again once it moves. A
// wedged engine then fails the Kubernetes liveness probe and the pod is restarted; an idle or a
// busy engine never does (Engine::StalledFor is zero when idle and resets at every step).
#ifndef EGMLA_SERVER_LIVENESS_WATCH_H_
#define EGMLA_SERVER_LIVENESS_WATCH_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace egmla {

class LivenessWatch {
 public:
  // Calls `set_live(false)` when `stalled_for()` exceeds `timeout`, `set_live(true)` when it
  // falls back under it: on changes only, from a thread that checks every `period` (none when
  // `period` is zero: tests call Check()). REQUIRES: the callbacks are thread-safe and outlive
  // the watch; timeout > 0.
  LivenessWatch(std::function<absl::Duration()> stalled_for, absl::Duration timeout,
                std::function<void(bool live)> set_live, absl::Duration period = absl::Seconds(1));
  // Stops the thread; no callback runs after it returns.
  ~LivenessWatch();
  LivenessWatch(const LivenessWatch&) = delete;
  LivenessWatch& operator=(const LivenessWatch&) = delete;

  // One evaluation; returns whether the server is live.
  bool Check();

 private:
  const std::function<absl::Duration()> stalled_for_;
  const absl::Duration timeout_;
  const std::function<void(bool)> set_live_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool live_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace egmla

#endif  // EGMLA_SERVER_LIVENESS_WATCH_H_
