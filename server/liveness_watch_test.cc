#include "server/liveness_watch.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::ElementsAre;

struct Fake {
  std::mutex mu;
  absl::Duration stalled = absl::ZeroDuration();
  std::vector<bool> calls;

  std::function<absl::Duration()> StalledFor() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu);
      return stalled;
    };
  }
  std::function<void(bool)> SetLive() {
    return [this](bool live) {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back(live);
    };
  }
  void Stall(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu);
    stalled = d;
  }
  std::vector<bool> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

TEST(LivenessWatchTest, GoesNotServingPastTheTimeoutAndBackOnProgress) {
  Fake fake;
  LivenessWatch watch(fake.StalledFor(), absl::Seconds(60), fake.SetLive(), absl::ZeroDuration());
  EXPECT_TRUE(watch.Check());
  fake.Stall(absl::Seconds(60));  // at the timeout: still live
  EXPECT_TRUE(watch.Check());
  fake.Stall(absl::Seconds(61));
  EXPECT_FALSE(watch.Check());
  EXPECT_FALSE(watch.Check());  // no second call for the same state
  fake.Stall(absl::ZeroDuration());
  EXPECT_TRUE(watch.Check());
  EXPECT_THAT(fake.Calls(), ElementsAre(false, true));
}

TEST(LivenessWatchTest, ItsThreadChecksPeriodicallyAndStopsCleanly) {
  Fake fake;
  fake.Stall(absl::Seconds(10));
  {
    LivenessWatch watch(fake.StalledFor(), absl::Seconds(1), fake.SetLive(), absl::Milliseconds(5));
    for (int i = 0; i < 400 && fake.Calls().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const size_t seen = fake.Calls().size();
  EXPECT_THAT(fake.Calls(), ElementsAre(false));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(fake.Calls().size(), seen);  // nothing after the destructor
}

}  // namespace
}  // namespace egmla
