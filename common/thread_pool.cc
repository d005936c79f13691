#include "common/thread_pool.h"

#include <algorithm>

namespace egmla {
namespace {

// Set on the pool's workers and on a caller inside its own job: a nested ParallelFor is serial.
thread_local bool in_job = false;

// Chunks per thread: a few, so that a thread that started late or was preempted leaves its share
// to the others.
constexpr int64_t kChunksPerThread = 4;

}  // namespace

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n;
  int64_t chunk;       // indices per chunk (the last may be short)
  int64_t num_chunks;  // < 2^32
};

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < std::max(1, num_threads); ++i)
    workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks =
      std::min<int64_t>((n + grain - 1) / grain, kChunksPerThread * num_threads());
  std::unique_lock<std::mutex> submit(submit_mu_, std::try_to_lock);
  if (max_chunks <= 1 || workers_.empty() || in_job || !submit.owns_lock()) {
    fn(0, n);
    return;
  }
  const int64_t chunk = (n + max_chunks - 1) / max_chunks;
  const Job job{.fn = &fn, .n = n, .chunk = chunk, .num_chunks = (n + chunk - 1) / chunk};
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = ++generation_;
    job_ = &job;
    chunks_done_.store(0);
    ticket_.store(generation << 32);
  }
  work_cv_.notify_all();
  in_job = true;
  RunChunks(job, generation);
  in_job = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return chunks_done_.load() == job.num_chunks; });
    job_ = nullptr;
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::RunChunks(const Job& job, uint64_t generation) {
  while (true) {
    uint64_t ticket = ticket_.load();
    do {
      if ((ticket >> 32) != generation ||
          static_cast<int64_t>(ticket & 0xffffffffu) >= job.num_chunks) {
        return;
      }
    } while (!ticket_.compare_exchange_weak(ticket, ticket + 1));
    const int64_t begin = static_cast<int64_t>(ticket & 0xffffffffu) * job.chunk;
    try {
      (*job.fn)(begin, std::min(job.n, begin + job.chunk));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
    if (chunks_done_.fetch_add(1) + 1 == job.num_chunks) {
      std::lock_guard<std::mutex> lock(mu_);  // the caller checks under mu_: no lost wake-up
      done_cv_.notify_all();
    }
  }
}

void ThreadPool::WorkerLoop() {
  in_job = true;
  uint64_t seen = 0;
  while (true) {
    Job job;
    uint64_t generation;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (generation_ != seen && job_ != nullptr);
      });
      if (stopping_) return;
      seen = generation = generation_;
      job = *job_;  // a copy: the caller's Job may be gone once its chunks are all done
    }
    RunChunks(job, generation);
  }
}

}  // namespace egmla
