#include "server/syn_filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>

#include "gtest/gtest.h"

namespace egmla {
namespace {

// A loopback address of `family` with `port`, as sockaddr_storage.
sockaddr_storage Loopback(int family, int port) {
  sockaddr_storage address{};
  if (family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v4->sin_port = htons(static_cast<uint16_t>(port));
  }
  return address;
}

socklen_t LengthOf(int family) {
  return family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// A listening socket on the loopback address of `family` and its port; {-1, 0} where the
// family has no loopback here.
std::pair<int, int> ListenLoopback(int family) {
  const int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage address = Loopback(family, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), LengthOf(family)) != 0 ||
      listen(fd, 16) != 0) {
    if (fd >= 0) close(fd);
    return {-1, 0};
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return {fd, port};
}

// Starts a non-blocking connect; the fd.
int StartConnect(int family, int port) {
  const int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_storage address = Loopback(family, port);
  const int result = connect(fd, reinterpret_cast<sockaddr*>(&address), LengthOf(family));
  EXPECT_TRUE(result == 0 || errno == EINPROGRESS) << std::strerror(errno);
  return fd;
}

// Waits up to `timeout_ms` for a connect to end; its error (0: connected), or -1 if still going.
int ConnectOutcome(int fd, int timeout_ms) {
  pollfd polled{.fd = fd, .events = POLLOUT};
  if (poll(&polled, 1, timeout_ms) <= 0) return -1;
  int error = 0;
  socklen_t length = sizeof(error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  return error;
}

// Reads what arrives on `fd` within `timeout_ms`, until the peer closes.
std::string ReadAll(int fd, int timeout_ms) {
  std::string got;
  pollfd polled{.fd = fd, .events = POLLIN};
  char buf[256];
  while (poll(&polled, 1, timeout_ms) > 0) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

class SynFilterTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    std::tie(listener_, port_) = ListenLoopback(GetParam());
    if (listener_ < 0) GTEST_SKIP() << "no loopback of this address family here";
  }
  void TearDown() override {
    if (listener_ >= 0) close(listener_);
  }
  int listener_ = -1;
  int port_ = 0;
};

TEST_P(SynFilterTest, ANewConnectIsIgnoredThenRefusedOnceTheListenerCloses) {
  ASSERT_TRUE(IgnoreNewConnections(listener_)) << std::strerror(errno);
  const int client = StartConnect(GetParam(), port_);
  EXPECT_EQ(ConnectOutcome(client, 300), -1) << "the SYN got no answer, neither accept nor reset";
  close(listener_);
  listener_ = -1;
  // The client resends its SYN after ~1 s; the port is closed by then.
  EXPECT_EQ(ConnectOutcome(client, 5000), ECONNREFUSED);
  close(client);
}

TEST_P(SynFilterTest, AConnectionCompletedBeforeTheFilterIsStillAcceptedAndHeard) {
  const int client = StartConnect(GetParam(), port_);
  ASSERT_EQ(ConnectOutcome(client, 2000), 0);
  ASSERT_TRUE(IgnoreNewConnections(listener_));
  const int server_end = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server_end, 0) << std::strerror(errno);
  ASSERT_EQ(write(client, "call", 4), 4);
  close(client);
  EXPECT_EQ(ReadAll(server_end, 2000), "call");
  close(server_end);
}

// A socket the listener creates while the filter is on inherits it (the kernel copies the filter
// with the socket): the segments that follow the handshake must still get through.
TEST_P(SynFilterTest, ASocketCarryingTheFilterStillReceivesTheRequestAndTheClose) {
  const int client = StartConnect(GetParam(), port_);
  ASSERT_EQ(ConnectOutcome(client, 2000), 0);
  const int server_end = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server_end, 0) << std::strerror(errno);
  ASSERT_TRUE(IgnoreNewConnections(server_end));
  ASSERT_EQ(write(client, "request", 7), 7);
  close(client);  // the FIN must get through too: ReadAll ends on it, not on its timeout
  EXPECT_EQ(ReadAll(server_end, 2000), "request");
  close(server_end);
}

INSTANTIATE_TEST_SUITE_P(Families, SynFilterTest, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& info) { return info.param == AF_INET6 ? "Ipv6" : "Ipv4"; });

}  // namespace
}  // namespace egmla
