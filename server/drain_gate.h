// Which calls a draining server still serves, so that a drain behind a load balancer loses no
// call (DESIGN §5; the drain's steps are in Server::Drain).
//
// A connection our listener accepted (server/listener.h) carries a call the client has already
// sent: behind nginx, one call per connection, written right after the connect. When the drain
// closes the listener, such a connection may not have delivered its call to gRPC yet. The gate
// remembers every accepted connection until its first call arrives, lets the drain wait for
// those first calls before it refuses anything or shuts gRPC down, and admits them even after
// new calls are refused. A connection that closed without a call stops counting: its fd no
// longer names the same socket (checked by inode).
//
// Calls are known by gRPC's peer string: "fd:<fd>" for a connection handed over with
// grpc::AddInsecureChannelFromFd. Thread-safe.
#ifndef EGMLA_SERVER_DRAIN_GATE_H_
#define EGMLA_SERVER_DRAIN_GATE_H_

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

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

  // Every call, as gRPC starts it: `call` identifies it (its ServerContext), `peer` is its
  // connection. Its connection no longer waits for a first call; once the drain began, such a
  // first call is admitted (Refuses returns false for it).
  void CallArrived(const void* call, std::string_view peer);

  // The drain begins: from now on first calls are recorded as admitted.
  void BeginDrain();

  // After the listener closed: waits until every accepted connection has made its first call or
  // closed, at most `timeout`. Returns how many had not.
  int WaitForFirstCalls(absl::Duration timeout);

  // From now on Refuses is true for every call not admitted above.
  void RefuseNewCalls();

  // Whether `call` gets UNAVAILABLE (draining). Consumes its admission.
  bool Refuses(const void* call);

  // A server interceptor factory that reports every call to CallArrived (it intercepts nothing).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  MakeInterceptorFactory();

 private:
  // Forgets connections whose fd no longer names the accepted socket.
  void DropClosedConnectionsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  std::condition_variable first_call_;
  std::unordered_map<int, ino_t> awaiting_first_call_ ABSL_GUARDED_BY(mu_);  // fd → socket inode
  std::unordered_set<const void*> admitted_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool refusing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace egmla

#endif  // EGMLA_SERVER_DRAIN_GATE_H_
