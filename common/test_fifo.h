// Test helper: calls code that opens a FIFO nobody writes to, failing the test (instead of hanging
// it) when that code blocks in open(2).
#ifndef EGMLA_COMMON_TEST_FIFO_H_
#define EGMLA_COMMON_TEST_FIFO_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

#include "gtest/gtest.h"

namespace egmla::testing {

// Creates a FIFO at `path`; false (and a test failure) when mkfifo fails.
inline bool MakeFifo(const std::string& path) {
  if (mkfifo(path.c_str(), 0600) == 0) return true;
  ADD_FAILURE() << "mkfifo " << path << " failed";
  return false;
}

// Runs `fn` on another thread. When it has not returned after 5 s it is taken to be blocked
// opening `fifo`: the test fails, and the FIFO is opened for writing (and closed) until `fn`
// returns, which releases the blocked open so that the test ends.
template <typename F>
auto CallUnblockingFifo(const std::string& fifo, F fn) -> decltype(fn()) {
  std::future<decltype(fn())> result = std::async(std::launch::async, fn);
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "still blocked after 5 s, presumably opening the FIFO " << fifo;
    while (result.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
      const int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) close(fd);
    }
  }
  return result.get();
}

}  // namespace egmla::testing

#endif  // EGMLA_COMMON_TEST_FIFO_H_
