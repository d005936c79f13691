#include "server/drain_gate.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace egmla {
namespace {

// A connected socket pair standing in for an accepted connection; closes both ends.
struct Connection {
  Connection() { socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }
  ~Connection() {
    CloseServerEnd();
    close(fds[1]);
  }
  void CloseServerEnd() {
    if (fds[0] >= 0) close(fds[0]);
    fds[0] = -1;
  }
  int server_end() const { return fds[0]; }
  int fds[2] = {-1, -1};
};

// Stand-ins for two calls' ServerContexts (only their addresses matter).
int call_a, call_b;

TEST(DrainGateTest, FdPeerIsGrpcsNameForAConnectionHandedOverByFd) {
  EXPECT_EQ(DrainGate::FdPeer(7), "fd:7");
}

TEST(DrainGateTest, WaitsForTheFirstCallOfEveryAcceptedConnection) {
  DrainGate gate;
  Connection connection;
  gate.ConnectionAccepted(connection.server_end());
  EXPECT_EQ(gate.WaitForFirstCalls(absl::Milliseconds(20)), 1);
  gate.CallArrived(&call_a, DrainGate::FdPeer(connection.server_end()));
  EXPECT_EQ(gate.WaitForFirstCalls(absl::Seconds(10)), 0);
}

TEST(DrainGateTest, AConnectionClosedWithoutACallStopsCounting) {
  DrainGate gate;
  Connection connection;
  gate.ConnectionAccepted(connection.server_end());
  connection.CloseServerEnd();
  EXPECT_EQ(gate.WaitForFirstCalls(absl::Seconds(10)), 0);
}

TEST(DrainGateTest, AReusedFdIsNotTakenForTheOldConnection) {
  DrainGate gate;
  auto first = std::make_unique<Connection>();
  const int fd = first->server_end();
  gate.ConnectionAccepted(fd);
  first.reset();
  // Another socket at the same fd number is not the connection that was accepted.
  Connection second;
  ASSERT_TRUE(second.server_end() == fd || second.fds[1] == fd);
  EXPECT_EQ(gate.WaitForFirstCalls(absl::Seconds(10)), 0);
}

TEST(DrainGateTest, NothingIsRefusedBeforeTheDrain) {
  DrainGate gate;
  Connection connection;
  const std::string peer = DrainGate::FdPeer(connection.server_end());
  gate.ConnectionAccepted(connection.server_end());
  gate.CallArrived(&call_a, peer);
  EXPECT_FALSE(gate.Refuses(&call_a, peer));
  gate.CallArrived(&call_b, peer);
  EXPECT_FALSE(gate.Refuses(&call_b, peer));
  EXPECT_FALSE(gate.Refuses(&call_a, "ipv4:127.0.0.1:4242"));
}

TEST(DrainGateTest, WhileDrainingOnlyTheFirstCallOfAConnectionIsServed) {
  DrainGate gate;
  Connection connection;
  const std::string peer = DrainGate::FdPeer(connection.server_end());
  gate.ConnectionAccepted(connection.server_end());
  gate.BeginDrain();
  gate.CallArrived(&call_a, peer);
  EXPECT_FALSE(gate.Refuses(&call_a, peer)) << "the call its connection carried";
  gate.CallArrived(&call_b, peer);
  EXPECT_TRUE(gate.Refuses(&call_b, peer)) << "a second call on the connection is a new call";
}

TEST(DrainGateTest, AFirstCallThatArrivedJustBeforeTheDrainIsStillServed) {
  DrainGate gate;
  Connection connection;
  const std::string peer = DrainGate::FdPeer(connection.server_end());
  gate.ConnectionAccepted(connection.server_end());
  gate.CallArrived(&call_a, peer);            // gRPC matched it ...
  gate.BeginDrain();                          // ... the signal came ...
  EXPECT_FALSE(gate.Refuses(&call_a, peer));  // ... then its handler ran
}

TEST(DrainGateTest, AnOldConnectionsNextCallIsRefusedEvenAtAReusedAddress) {
  DrainGate gate;
  Connection connection;
  const std::string peer = DrainGate::FdPeer(connection.server_end());
  gate.ConnectionAccepted(connection.server_end());
  gate.CallArrived(&call_a, peer);  // a first call whose handler never asks (a health check)
  gate.BeginDrain();
  gate.CallArrived(&call_a, peer);  // a later call whose ServerContext has the same address
  EXPECT_TRUE(gate.Refuses(&call_a, peer));
}

TEST(DrainGateTest, CallsOfGrpcsOwnListenerAreRefusedWhileDraining) {
  DrainGate gate;
  gate.CallArrived(&call_a, "ipv4:127.0.0.1:4242");
  gate.CallArrived(&call_a, "fd:not-a-number");
  EXPECT_EQ(gate.WaitForFirstCalls(absl::ZeroDuration()), 0);
  gate.BeginDrain();
  EXPECT_TRUE(gate.Refuses(&call_a, "ipv4:127.0.0.1:4242"));
}

TEST(DrainGateTest, ClosedConnectionsAreForgottenAsConnectionsComeAndGo) {
  DrainGate gate;
  for (int i = 0; i < 1000; ++i) {
    Connection connection;
    gate.ConnectionAccepted(connection.server_end());
  }
  Connection open;
  gate.ConnectionAccepted(open.server_end());
  EXPECT_EQ(gate.WaitForFirstCalls(absl::ZeroDuration()), 1);
}

}  // namespace
}  // namespace egmla
