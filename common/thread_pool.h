// A persistent pool of worker threads for the CPU ops (issue 13). Workers sleep on a condition
// variable between jobs (no spin-waiting, unlike libgomp's default that burned a whole core per
// thread and collapsed decoding beside any other process), and the calling thread always works
// on its own job: when the machine is busy and the workers are slow to wake, it simply does more
// of the chunks itself instead of waiting for them.
//
// Thread-safe. One job at a time: a ParallelFor called while another thread's job runs, or from
// inside a job, runs serially on its calling thread (same results, see below).
#ifndef EGMLA_COMMON_THREAD_POOL_H_
#define EGMLA_COMMON_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace egmla {

class ThreadPool {
 public:
  // `num_threads` counts the caller: num_threads - 1 workers are started. REQUIRES: >= 1.
  explicit ThreadPool(int num_threads);
  // Joins the workers. REQUIRES: no ParallelFor is running.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over [0, n) cut into chunks of at least `grain` indices (at most a few
  // per thread) and returns when every chunk has run. Which thread runs a chunk varies, so fn
  // must compute each index the same way whatever chunk it is in; then the result does not
  // depend on the number of threads. The first exception fn throws is rethrown here, after every
  // other chunk has run.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  struct Job;
  void WorkerLoop();
  // Takes and runs chunks of the job of `generation` until none is left.
  void RunChunks(const Job& job, uint64_t generation);

  std::vector<std::thread> workers_;
  std::mutex submit_mu_;  // one job at a time; try_lock fails → serial

  std::mutex mu_;
  std::condition_variable work_cv_;  // a job was published, or stopping_
  std::condition_variable done_cv_;  // the last chunk of the job finished
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  const Job* job_ ABSL_GUARDED_BY(mu_) = nullptr;
  // (generation << 32) | next chunk: a worker late for a job can never take a chunk of the next.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> chunks_done_{0};
  std::mutex error_mu_;
  std::exception_ptr error_ ABSL_GUARDED_BY(error_mu_);
};

}  // namespace egmla

#endif  // EGMLA_COMMON_THREAD_POOL_H_
