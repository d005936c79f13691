// Ctrl-C (SIGINT) and SIGTERM during a load run: the first calls a handler (the run stops and
// reports what it has), a second ends the process at once with status 130.
#ifndef EGMLA_LOAD_TESTS_INTERRUPT_WATCHER_H_
#define EGMLA_LOAD_TESTS_INTERRUPT_WATCHER_H_

#include <functional>
#include <thread>

namespace egmla::loadgen {

// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread and so in every thread created
// after it. REQUIRES: called first in main, before any other thread exists (gRPC's included).
void BlockInterruptSignals();

// Waits for the signals on its own thread. REQUIRES: BlockInterruptSignals() ran.
class InterruptWatcher {
 public:
  // `on_interrupt` runs on the watcher's thread, at most once.
  explicit InterruptWatcher(std::function<void()> on_interrupt);
  ~InterruptWatcher();  // stops the thread (by SIGUSR1)

  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  void Loop();

  std::function<void()> on_interrupt_;
  std::thread thread_;
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_INTERRUPT_WATCHER_H_
