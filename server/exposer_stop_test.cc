#include "server/exposer_stop.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"
#include "prometheus/exposer.h"

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

TEST(ExposerStopTest, NullIsANoOp) { StopExposer(nullptr, "127.0.0.1"); }

bool Connects(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return connected;
}

TEST(ExposerStopTest, TheListenerIsClosedWhenItReturns) {
  auto exposer = std::make_unique<prometheus::Exposer>("127.0.0.1:0");
  const std::vector<int> ports = exposer->GetListeningPorts();
  ASSERT_EQ(ports.size(), 1u);
  ASSERT_TRUE(Connects(ports[0]));
  StopExposer(std::move(exposer), "127.0.0.1");
  EXPECT_FALSE(Connects(ports[0]));
}

}  // namespace
}  // namespace egmla
