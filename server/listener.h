// The plaintext gRPC port's TCP listener, owned by the server instead of by gRPC, so that a drain
// can stop taking connections without losing any call (DESIGN §5).
//
// Why: gRPC closes its own listener only inside grpc::Server::Shutdown, which at the same moment
// kills every call that has reached the transport but not yet a handler (the client sees
// CANCELLED), and the kernel resets connections still in the accept backlog. Behind nginx,
// which never retries a gRPC call once it has sent it, those calls are lost. With this listener
// the drain is: stop accepting and hand the backlog to gRPC, let those connections' calls
// arrive (server/drain_gate.h), and only then Shutdown. Connections go to gRPC with
// grpc::AddInsecureChannelFromFd, so TLS keeps gRPC's own listener.
#ifndef EGMLA_SERVER_LISTENER_H_
#define EGMLA_SERVER_LISTENER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace egmla {

class Listener {
 public:
  // Called on the accept thread with each accepted connection (non-blocking, close-on-exec,
  // TCP_NODELAY); it owns the fd from then on.
  using OnConnection = std::function<void(int fd)>;

  // Binds and listens on every address `host` resolves to (all of them on one port; `port` 0
  // picks a free one); a wildcard ("0.0.0.0", "::", "") listens dual-stack where the host has
  // IPv6, as gRPC does. UNAVAILABLE naming host:port when no address can be bound (in use, or
  // not an address of this host). Without SO_REUSEPORT: a second server cannot share the port.
  static absl::StatusOr<std::unique_ptr<Listener>> Open(const std::string& host, int port);
  ~Listener();  // Close()

  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }

  // Starts the accept thread. Call once.
  void Start(OnConnection on_connection);

  // Stops accepting. Connections the kernel completed before this call (the accept backlog)
  // still go to on_connection, so that no client which connected is reset; a SYN that arrives
  // meanwhile is dropped unanswered (server/syn_filter.h), so its client retries it (~1 s
  // later) and is then refused. Then the sockets close: a new connect is refused. Returns when
  // the accept thread has ended. Idempotent; closes the sockets also when Start was never
  // called.
  void Close();

 private:
  Listener(std::vector<int> fds, int port, int wake_read, int wake_write);
  void AcceptLoop();
  // Accepts until the backlog of every socket is empty.
  void AcceptAllPending();

  const std::vector<int> fds_;  // listening sockets, one per resolved address
  const int port_;
  const int wake_read_;  // a pipe: Close writes a byte to end the accept thread's poll
  const int wake_write_;
  OnConnection on_connection_;
  std::thread thread_;
  std::mutex close_mu_;  // serializes Close
  bool closed_ = false;
};

}  // namespace egmla

#endif  // EGMLA_SERVER_LISTENER_H_
