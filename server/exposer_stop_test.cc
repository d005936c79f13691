#include "server/exposer_stop.h"

#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"
#include "prometheus/exposer.h"
#include "server/loopback_test_util.h"

namespace egmla {
namespace {

TEST(ExposerStopTest, WakeHostIsTheBoundHostWithWildcardsAsLoopback) {
  EXPECT_EQ(ExposerWakeHost("127.0.0.1:8002"), "127.0.0.1");
  EXPECT_EQ(ExposerWakeHost("10.1.2.3:0"), "10.1.2.3");
  EXPECT_EQ(ExposerWakeHost("0.0.0.0:8002"), "127.0.0.1");
  EXPECT_EQ(ExposerWakeHost("8002"), "127.0.0.1");
  EXPECT_EQ(ExposerWakeHost("[::]:8002"), "::1");
  EXPECT_EQ(ExposerWakeHost("[::1]:8002"), "::1");
  EXPECT_EQ(ExposerWakeHost("localhost:8002"), "localhost");
}

TEST(ExposerStopTest, NullIsANoOp) { StopExposer(nullptr, "127.0.0.1:0"); }

bool Connects(int port) {
  const int fd = ConnectLoopback(port);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

TEST(ExposerStopTest, TheListenerIsClosedWhenItReturns) {
  auto exposer = std::make_unique<prometheus::Exposer>("127.0.0.1:0");
  const std::vector<int> ports = exposer->GetListeningPorts();
  ASSERT_EQ(ports.size(), 1u);
  ASSERT_TRUE(Connects(ports[0]));
  StopExposer(std::move(exposer), "127.0.0.1:0");
  EXPECT_FALSE(Connects(ports[0]));
}

}  // namespace
}  // namespace egmla
