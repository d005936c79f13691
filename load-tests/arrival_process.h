// When requests are sent: gamma-distributed gaps between arrivals, as vLLM's benchmark_serving
// draws them (shape = burstiness, mean = 1 / rate; burstiness 1 is a Poisson process).
#ifndef EGMLA_LOAD_TESTS_ARRIVAL_PROCESS_H_
#define EGMLA_LOAD_TESTS_ARRIVAL_PROCESS_H_

#include <cstdint>
#include <random>

namespace egmla::loadgen {

class ArrivalProcess {
 public:
  // REQUIRES: rate > 0 (infinity: every request at once); burstiness > 0 and finite.
  // Smaller burstiness gives burstier arrivals, larger more even ones.
  ArrivalProcess(double rate, double burstiness, uint64_t seed);

  // The gap before the next request, in seconds (0 at an infinite rate).
  double NextGapSeconds();

 private:
  bool unlimited_;
  std::mt19937_64 rng_;
  std::gamma_distribution<double> gap_;
};

}  // namespace egmla::loadgen

#endif  // EGMLA_LOAD_TESTS_ARRIVAL_PROCESS_H_
