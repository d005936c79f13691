// Engine figures for GetLoad and the metrics exporter (DESIGN §5 Load, §7), and the observer
// through which the engine reports events as they happen.
#ifndef EGMLA_ENGINE_ENGINE_STATS_H_
#define EGMLA_ENGINE_ENGINE_STATS_H_

#include <cstdint>

#include "common/finish_reason.h"

namespace egmla {

struct EngineStats {
  int64_t running = 0;
  int64_t waiting = 0;
  double kv_cache_usage = 0;  // blocks held by live requests / all blocks
  int64_t used_blocks = 0;
  int64_t cached_blocks = 0;  // free, holding a reusable prefix
  int64_t free_blocks = 0;    // free, holding nothing reusable
  int64_t total_blocks = 0;
  // Counters since start.
  int64_t prompt_tokens = 0;
  int64_t generation_tokens = 0;
  int64_t prefix_cache_query_tokens = 0;
  int64_t prefix_cache_hit_tokens = 0;
  int64_t preemptions = 0;
  int64_t steps = 0;
};

// Called on the engine thread; implementations must return at once.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void OnStep(double seconds, int64_t batch_tokens) {}
  virtual void OnFirstToken(double queue_seconds, double time_to_first_token_seconds) {}
  virtual void OnToken(double inter_token_seconds) {}
  virtual void OnFinished(FinishReason reason, double total_seconds) {}
};

}  // namespace egmla

#endif  // EGMLA_ENGINE_ENGINE_STATS_H_
