// Which calls a draining server still serves, so that a drain behind a load balancer loses no
// call (DESIGN §5; the drain's steps are in Server::Drain).
//
// A connection our listener accepted (server/listener.h) carries a call the client has already
// sent: behind nginx, one call per connection, written right after the connect. When the drain
// closes the listener, such a connection may not have delivered its call to gRPC yet. So while
// draining the gate refuses every new call except the first call of a connection, and lets the
// drain wait for those first calls before it shuts gRPC down. A connection that closed without
// a call stops counting: its fd no longer names the same socket (checked by inode).
//
// Calls are known by gRPC's peer string: "fd:<fd>" for a connection handed over with
// grpc::AddInsecureChannelFromFd. Thread-safe.
#ifndef EGMLA_SERVER_DRAIN_GATE_H_
#define EGMLA_SERVER_DRAIN_GATE_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"

namespace egmla {

class DrainGate {
 public:
  // The peer string gRPC gives the calls of a connection handed over as `fd`.
  static std::string FdPeer(int fd);

  // Our listener accepted `fd` (call before handing it to gRPC).
  void ConnectionAccepted(int fd);

  // Every call, as gRPC starts it (before its handler): `call` identifies it (its
  // ServerContext), `peer` is its connection.
  void CallArrived(const void* call, std::string_view peer);

  // The drain begins: from now on Refuses is true except for the first call of a connection
  // our listener accepted.
  void BeginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  // After the listener closed: waits until every accepted connection has made its first call or
  // closed, at most `timeout`. Returns how many had not.
  int WaitForFirstCalls(absl::Duration timeout);

  // Whether `call` (on connection `peer`) gets UNAVAILABLE because the server drains. For each
  // call once, from its handler.
  bool Refuses(const void* call, std::string_view peer);

  // A server interceptor factory that reports every call to CallArrived (it intercepts nothing).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeInterceptorFactory();

 private:
  struct Connection {
    ino_t inode = 0;  // of the accepted socket: a reused fd names another one
    bool called = false;
    const void* first_call = nullptr;  // until its handler asked Refuses, or a second call came
  };

  // Forgets connections whose fd no longer names the accepted socket.
  void DropClosedConnectionsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  std::condition_variable call_arrived_;
  std::unordered_map<int, Connection> connections_ ABSL_GUARDED_BY(mu_);  // by fd
  // Closed connections are forgotten when the map reaches this size (and during a drain).
  size_t prune_at_ ABSL_GUARDED_BY(mu_) = 64;
  std::atomic<bool> draining_{false};
};

}  // namespace egmla

#endif  // EGMLA_SERVER_DRAIN_GATE_H_
