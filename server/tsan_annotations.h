// Happens-before edges that a library guarantees but ThreadSanitizer cannot see, because the
// library is not instrumented (Debian's libgrpc synchronises with absl::Mutex and atomics compiled
// without -fsanitize=thread). `make tsan` builds with -fsanitize=thread; elsewhere these are
// no-ops.
//
// Use them only to state an ordering the library documents (e.g. gRPC's callback API: a reactor's
// reactions run after the method handler returned it; OnWriteDone after its StartWrite; OnDone
// last). Each edge takes its own address, so that it orders only what that guarantee orders:
// EGMLA_HAPPENS_BEFORE(&edge) where the earlier side hands over, EGMLA_HAPPENS_AFTER(&edge) where
// the later side begins.
#ifndef EGMLA_SERVER_TSAN_ANNOTATIONS_H_
#define EGMLA_SERVER_TSAN_ANNOTATIONS_H_

#if defined(__SANITIZE_THREAD__)
#define EGMLA_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EGMLA_TSAN 1
#endif
#endif

#ifdef EGMLA_TSAN
#include <sanitizer/tsan_interface.h>
#define EGMLA_HAPPENS_BEFORE(addr) __tsan_release(const_cast<void*>(static_cast<const void*>(addr)))
#define EGMLA_HAPPENS_AFTER(addr) __tsan_acquire(const_cast<void*>(static_cast<const void*>(addr)))
#else
#define EGMLA_HAPPENS_BEFORE(addr) static_cast<void>(addr)
#define EGMLA_HAPPENS_AFTER(addr) static_cast<void>(addr)
#endif

#endif  // EGMLA_SERVER_TSAN_ANNOTATIONS_H_
