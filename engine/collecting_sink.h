// An OutputSink that collects a request's outputs for a caller that waits for the end (the
// offline `egmla run`, tests).
#ifndef EGMLA_ENGINE_COLLECTING_SINK_H_
#define EGMLA_ENGINE_COLLECTING_SINK_H_

#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "engine/request_output.h"

namespace egmla {

class CollectingSink : public OutputSink {
 public:
  void Push(RequestOutput output) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = output.finished || !output.error.ok();
      outputs_.push_back(std::move(output));
    }
    cv_.notify_all();
  }

  // Blocks until the finished output (or an error) arrived; returns every output in order.
  std::vector<RequestOutput> Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; });
    return outputs_;
  }

  // All generated token ids, once finished.
  std::vector<int32_t> WaitTokens() {
    std::vector<int32_t> ids;
    for (const RequestOutput& o : Wait())
      ids.insert(ids.end(), o.token_ids.begin(), o.token_ids.end());
    return ids;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<RequestOutput> outputs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace egmla

#endif  // EGMLA_ENGINE_COLLECTING_SINK_H_
