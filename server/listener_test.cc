#include "server/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/loopback_test_util.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

// Collects accepted fds; can hold the accept thread inside the callback.
class Acceptor {
 public:
  void OnConnection(int fd) {
    std::unique_lock<std::mutex> lock(mu_);
    fds_.push_back(fd);
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hold_; });
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    changed_.notify_all();
  }
  void WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return fds_.size() >= n; });
  }
  std::vector<int> fds() {
    std::lock_guard<std::mutex> lock(mu_);
    return fds_;
  }
  ~Acceptor() {
    for (int fd : fds_) close(fd);
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<int> fds_;
  bool hold_ = false;
};

TEST(ListenerTest, PortZeroPicksAFreePortAndHandsOverEachConnection) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_GT((*listener)->port(), 0);
  Acceptor acceptor;
  (*listener)->Start([&](int fd) { acceptor.OnConnection(fd); });
  const int client = ConnectLoopback((*listener)->port());
  ASSERT_GE(client, 0);
  acceptor.WaitFor(1);
  // The accepted end is a working connection to the client.
  ASSERT_EQ(write(client, "x", 1), 1);
  char byte = 0;
  const int server_end = acceptor.fds()[0];
  for (int i = 0; i < 1000 && read(server_end, &byte, 1) != 1; ++i) usleep(1000);
  EXPECT_EQ(byte, 'x');
  close(client);
}

TEST(ListenerTest, CloseHandsOverTheBacklogThenRefusesConnects) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int port = (*listener)->port();
  Acceptor acceptor;
  acceptor.Hold();  // the accept thread stays in the callback of the first connection
  (*listener)->Start([&](int fd) { acceptor.OnConnection(fd); });
  std::vector<int> clients{ConnectLoopback(port)};
  acceptor.WaitFor(1);
  // These complete in the kernel (the backlog) while the accept thread is busy.
  for (int i = 0; i < 5; ++i) clients.push_back(ConnectLoopback(port));
  for (int fd : clients) ASSERT_GE(fd, 0);

  std::thread closer([&] { (*listener)->Close(); });
  acceptor.Release();
  closer.join();
  EXPECT_EQ(acceptor.fds().size(), clients.size()) << "every connected client was handed over";
  EXPECT_EQ(ConnectLoopback(port), -1) << "a connect after Close is refused";
  (*listener)->Close();  // idempotent
  for (int fd : clients) close(fd);
}

TEST(ListenerTest, ASecondListenerOnTheSamePortFailsNamingTheAddress) {
  absl::StatusOr<std::unique_ptr<Listener>> first = Listener::Open("127.0.0.1", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->port();
  absl::StatusOr<std::unique_ptr<Listener>> second = Listener::Open("127.0.0.1", port);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

TEST(ListenerTest, AnUnknownHostIsAClearError) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("no-such-host.invalid", 0);
  ASSERT_FALSE(listener.ok());
  EXPECT_THAT(listener.status().message(), HasSubstr("cannot listen on no-such-host.invalid:0"));
}

TEST(ListenerTest, CloseWithoutStartClosesTheSocket) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int port = (*listener)->port();
  (*listener)->Close();
  EXPECT_EQ(ConnectLoopback(port), -1);
}

TEST(ListenerTest, TheWildcardTakesIpv4AndIpv6Clients) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("0.0.0.0", 0);
  ASSERT_TRUE(listener.ok()) << listener.status();
  Acceptor acceptor;
  (*listener)->Start([&](int fd) { acceptor.OnConnection(fd); });
  const int v4 = ConnectLoopback((*listener)->port());
  ASSERT_GE(v4, 0);
  acceptor.WaitFor(1);
  close(v4);
  const int v6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(static_cast<uint16_t>((*listener)->port()));
  address.sin6_addr = in6addr_loopback;
  const bool connected =
      v6 >= 0 && connect(v6, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  if (v6 >= 0) close(v6);
  if (!connected) GTEST_SKIP() << "no IPv6 loopback here";
  acceptor.WaitFor(2);
}

TEST(ListenerTest, BracketedIpv6LoopbackIsAccepted) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("[::1]", 0);
  if (!listener.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << listener.status();
  EXPECT_GT((*listener)->port(), 0);
}

}  // namespace
}  // namespace egmla
