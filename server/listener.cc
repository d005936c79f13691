#include "server/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/host_name.h"
#include "server/syn_filter.h"
#include "spdlog/spdlog.h"

namespace egmla {
namespace {

// Connections the kernel completes before the accept thread takes them; as gRPC's listener.
constexpr int kBacklog = 4096;

int PortOf(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

void SetPort(sockaddr* address, int port) {
  if (address->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(address)->sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in*>(address)->sin_port = htons(static_cast<uint16_t>(port));
  }
}

// A listening socket on `address`, or -1 with errno set.
int ListenOn(const addrinfo& info) {
  const int fd =
      socket(info.ai_family, info.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, info.ai_protocol);
  if (fd < 0) return -1;
  const int one = 1;
  // Restart at once on a port whose old connections are in TIME_WAIT; no SO_REUSEPORT.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (info.ai_family == AF_INET6) {
    const int zero = 0;  // [::] takes IPv4 too, whatever net.ipv6.bindv6only says
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(fd, info.ai_addr, info.ai_addrlen) != 0 || listen(fd, kBacklog) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// Listens on every address `name` resolves to, all on one port (`port` 0: the first socket
// picks a free one), appending the sockets to `fds`. Returns the last error, if any.
std::string BindAll(const std::string& name, int port, std::vector<int>& fds) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* resolved = nullptr;
  const std::string service = absl::StrCat(port);
  if (const int error = getaddrinfo(name.c_str(), service.c_str(), &hints, &resolved); error != 0) {
    return gai_strerror(error);
  }
  std::string last_error;
  for (addrinfo* info = resolved; info != nullptr; info = info->ai_next) {
    if (port != 0) SetPort(info->ai_addr, port);
    const int fd = ListenOn(*info);
    if (fd < 0) {
      last_error = absl::StrCat(std::strerror(errno), " (in use, or not an address of this host)");
      continue;
    }
    fds.push_back(fd);
    port = PortOf(fd);
  }
  freeaddrinfo(resolved);
  return last_error;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> Listener::Open(const std::string& host, int port) {
  const std::string where = absl::StrCat(host, ":", port);
  const std::string name = Unbracketed(host);
  // As gRPC does: a wildcard listens dual-stack on [::] (taking IPv4 too), or on 0.0.0.0 where
  // the host has no IPv6.
  const std::vector<std::string> candidates = IsWildcardHost(name)
                                                  ? std::vector<std::string>{"::", "0.0.0.0"}
                                                  : std::vector<std::string>{name};
  std::vector<int> fds;
  std::string error;
  for (const std::string& candidate : candidates) {
    error = BindAll(candidate, port, fds);
    if (!fds.empty()) break;
  }
  if (fds.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", error));
  }
  const int bound_port = PortOf(fds.front());
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    for (int fd : fds) close(fd);
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  return std::unique_ptr<Listener>(new Listener(std::move(fds), bound_port, wake[0], wake[1]));
}

Listener::Listener(std::vector<int> fds, int port, int wake_read, int wake_write)
    : fds_(std::move(fds)), port_(port), wake_read_(wake_read), wake_write_(wake_write) {}

Listener::~Listener() {
  Close();
  close(wake_read_);
  close(wake_write_);
}

void Listener::Start(OnConnection on_connection) {
  on_connection_ = std::move(on_connection);
  thread_ = std::thread([this] { AcceptLoop(); });
}

void Listener::AcceptLoop() {
  std::vector<pollfd> polled;
  for (int fd : fds_) polled.push_back({.fd = fd, .events = POLLIN});
  polled.push_back({.fd = wake_read_, .events = POLLIN});
  while (true) {
    if (poll(polled.data(), polled.size(), -1) < 0 && errno != EINTR) {
      spdlog::error("listener: poll: {}", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (polled.back().revents != 0) break;
    AcceptAllPending();
  }
  // Close: no new connection; take what the kernel already completed, then close at once. (Not
  // waiting for handshakes under way: every SYN that arrived meanwhile would be resent only
  // ~1 s later; 20 ms of waiting delayed ~5 calls per drain at 2,000 connects/s.)
  for (int fd : fds_) {
    if (!IgnoreNewConnections(fd)) {
      spdlog::debug("listener: SO_ATTACH_FILTER: {}", std::strerror(errno));
    }
  }
  AcceptAllPending();
  for (int fd : fds_) close(fd);
}

void Listener::AcceptAllPending() {
  for (int listen_fd : fds_) {
    while (true) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        // EAGAIN: the backlog is empty. Out of fds (EMFILE, ENFILE) or memory: the connection
        // waits in the backlog, and poll wakes us again; a short pause keeps that from spinning.
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          spdlog::warn("listener: accept: {}", std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        break;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      on_connection_(fd);
    }
  }
}

void Listener::Close() {
  std::lock_guard<std::mutex> lock(close_mu_);
  if (closed_) return;
  closed_ = true;
  if (!thread_.joinable()) {
    for (int fd : fds_) close(fd);
    return;
  }
  const char byte = 0;
  while (write(wake_write_, &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.join();  // it closes the sockets
}

}  // namespace egmla
