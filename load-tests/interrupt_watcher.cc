#include "load-tests/interrupt_watcher.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <utility>

namespace egmla::loadgen {
namespace {

sigset_t InterruptSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  return signals;
}

}  // namespace

void BlockInterruptSignals() {
  const sigset_t signals = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

InterruptWatcher::InterruptWatcher(std::function<void()> on_interrupt)
    : on_interrupt_(std::move(on_interrupt)), thread_([this] { Loop(); }) {}

InterruptWatcher::~InterruptWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

void InterruptWatcher::Loop() {
  const sigset_t signals = InterruptSignals();
  bool interrupted = false;
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGUSR1) return;
    if (interrupted) _exit(130);
    interrupted = true;
    on_interrupt_();
  }
}

}  // namespace egmla::loadgen
