#include "common/thread_pool.h"

#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/cpu_count.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(ThreadPoolTest, EveryIndexRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int64_t n : {0, 1, 7, 64, 1000, 100003}) {
      for (int64_t grain : {1, 16, 5000}) {
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(n, grain, [&](int64_t begin, int64_t end) {
          ASSERT_LE(0, begin);
          ASSERT_LE(begin, end);
          ASSERT_LE(end, n);
          for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << i << " of " << n;
      }
    }
  }
}

TEST(ThreadPoolTest, ManyJobsInARowLoseNoWork) {
  ThreadPool pool(4);
  std::atomic<int64_t> sum{0};
  for (int job = 0; job < 2000; ++job) {
    pool.ParallelFor(64, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) sum.fetch_add(i);
    });
  }
  EXPECT_EQ(sum.load(), 2000 * (63 * 64 / 2));
}

TEST(ThreadPoolTest, TheFirstExceptionIsRethrownAfterEveryChunkRan) {
  ThreadPool pool(3);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.ParallelFor(100, 1,
                                [&](int64_t begin, int64_t end) {
                                  ran.fetch_add(static_cast<int>(end - begin));
                                  if (begin == 0) throw std::runtime_error("chunk 0 failed");
                                }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 100);
  // The pool still works.
  std::atomic<int> after{0};
  pool.ParallelFor(10, 1, [&](int64_t b, int64_t e) { after.fetch_add(static_cast<int>(e - b)); });
  EXPECT_EQ(after.load(), 10);
}

TEST(ThreadPoolTest, NestedAndConcurrentCallsRunSeriallyAndCorrectly) {
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  auto job = [&] {
    pool.ParallelFor(8, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        pool.ParallelFor(100, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
      }
    });
  };
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) callers.emplace_back(job);
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 8 * 100);
}

TEST(ThreadPoolTest, ShutdownWhileIdleAndAfterLoadIsClean) {
  for (int round = 0; round < 50; ++round) {
    ThreadPool pool(3);
    if (round % 2 == 0) {
      std::atomic<int> n{0};
      pool.ParallelFor(1000, 1,
                       [&](int64_t b, int64_t e) { n.fetch_add(static_cast<int>(e - b)); });
      ASSERT_EQ(n.load(), 1000);
    }
  }
}

// The caller does the work itself when the workers are slow to come: a job never waits on a
// worker that has not started a chunk.
TEST(ThreadPoolTest, TheCallerFinishesAloneWhenWorkersAreBusy) {
  ThreadPool pool(2);
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  // Occupy the one worker with a long chunk of another job from another thread.
  std::thread hog([&] {
    pool.ParallelFor(2, 1, [&](int64_t, int64_t) {
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // The pool is taken: this job runs serially on this thread, at once.
  const auto start = std::chrono::steady_clock::now();
  pool.ParallelFor(100, 1, [&](int64_t b, int64_t e) { done.fetch_add(static_cast<int>(e - b)); });
  EXPECT_EQ(done.load(), 100);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  release = true;
  hog.join();
}

TEST(CpuCountTest, CgroupQuotaLines) {
  EXPECT_EQ(CpusFromCgroupMax("200000 100000\n"), 2);
  EXPECT_EQ(CpusFromCgroupMax("150000 100000"), 2);  // rounded up
  EXPECT_EQ(CpusFromCgroupMax("50000 100000"), 1);
  EXPECT_EQ(CpusFromCgroupMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("-1 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax("garbage"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupMax(""), std::nullopt);
  EXPECT_GE(UsableCpuCount(), 1);
}

}  // namespace
}  // namespace egmla
