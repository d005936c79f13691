#include "kernels/cpu/cpu_threads.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

#include "common/cpu_count.h"

namespace egmla::ops {
namespace {

std::atomic<int> requested_threads{0};  // 0: UsableCpuCount()

}  // namespace

void SetCpuThreads(int n) { requested_threads.store(std::max(1, n)); }

ThreadPool& CpuPool() {
  static ThreadPool* const kPool = [] {
    // OpenBLAS's own threads spin between calls; our pool parallelises LinearBulk instead.
    openblas_set_num_threads(1);
    const int n = requested_threads.load();
    return new ThreadPool(n > 0 ? n : UsableCpuCount());  // never destroyed: ops may run at exit
  }();
  return *kPool;
}

}  // namespace egmla::ops
