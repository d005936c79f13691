#include "load-tests/arrival_process.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace egmla::loadgen {
namespace {

struct Moments {
  double mean;
  double cv;  // coefficient of variation
};

Moments Sample(double rate, double burstiness, int n) {
  ArrivalProcess arrivals(rate, burstiness, /*seed=*/7);
  std::vector<double> gaps(n);
  double sum = 0;
  for (double& g : gaps) sum += g = arrivals.NextGapSeconds();
  const double mean = sum / n;
  double squares = 0;
  for (double g : gaps) squares += (g - mean) * (g - mean);
  return {mean, std::sqrt(squares / n) / mean};
}

TEST(ArrivalProcessTest, PoissonHasMeanOneOverRateAndUnitVariation) {
  const Moments m = Sample(/*rate=*/4, /*burstiness=*/1, 200000);
  EXPECT_NEAR(m.mean, 0.25, 0.005);
  EXPECT_NEAR(m.cv, 1.0, 0.02);  // exponential gaps
}

TEST(ArrivalProcessTest, BurstinessKeepsTheMeanAndSetsTheVariation) {
  // Gamma with shape k: coefficient of variation 1 / sqrt(k).
  for (double k : {0.25, 4.0}) {
    const Moments m = Sample(/*rate=*/2, k, 200000);
    EXPECT_NEAR(m.mean, 0.5, 0.01) << k;
    EXPECT_NEAR(m.cv, 1 / std::sqrt(k), 0.05) << k;
  }
}

TEST(ArrivalProcessTest, InfiniteRateSendsAllAtOnce) {
  ArrivalProcess arrivals(std::numeric_limits<double>::infinity(), 1, 0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(arrivals.NextGapSeconds(), 0.0);
}

TEST(ArrivalProcessTest, SameSeedSameGaps) {
  ArrivalProcess a(3, 1, 42);
  ArrivalProcess b(3, 1, 42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.NextGapSeconds(), b.NextGapSeconds());
}

}  // namespace
}  // namespace egmla::loadgen
