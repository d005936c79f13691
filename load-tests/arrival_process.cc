#include "load-tests/arrival_process.h"

#include <cmath>

namespace egmla::loadgen {

// Gamma(shape k, scale theta) has mean k * theta, so theta = 1 / (rate * k) gives mean 1 / rate.
ArrivalProcess::ArrivalProcess(double rate, double burstiness, uint64_t seed)
    : unlimited_(std::isinf(rate)),
      rng_(seed),
      gap_(burstiness, unlimited_ ? 1.0 : 1.0 / (rate * burstiness)) {}

double ArrivalProcess::NextGapSeconds() { return unlimited_ ? 0.0 : gap_(rng_); }

}  // namespace egmla::loadgen
