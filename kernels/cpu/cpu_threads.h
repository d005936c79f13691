// The thread pool every parallel CPU op runs on. One per process, like OpenMP's: the ops'
// signatures (kernels/ops.h) carry no context, and one pool keeps the op-level parallel regions
// from oversubscribing the cores. Sized by SetCpuThreads (--cpu-threads), else by the CPUs the
// process may use (common/cpu_count.h).
#ifndef EGMLA_KERNELS_CPU_CPU_THREADS_H_
#define EGMLA_KERNELS_CPU_CPU_THREADS_H_

#include "common/thread_pool.h"

namespace egmla::ops {

// Threads the pool runs on (the calling thread included); at least 1.
ThreadPool& CpuPool();

// Sizes the pool (n >= 1; larger than the usable CPUs is allowed) and keeps OpenBLAS to one
// thread, as the pool parallelises around it. REQUIRES: called before the first op, once (main).
void SetCpuThreads(int n);

}  // namespace egmla::ops

#endif  // EGMLA_KERNELS_CPU_CPU_THREADS_H_
