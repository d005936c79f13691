// Test helper shared by the server's socket tests.
#ifndef EGMLA_SERVER_LOOPBACK_TEST_UTIL_H_
#define EGMLA_SERVER_LOOPBACK_TEST_UTIL_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace egmla {

// A blocking connect to 127.0.0.1:port; the fd, or -1 when it was refused.
inline int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on a new loopback connection to `port` and returns everything the peer sends
// until it closes (or `timeout_seconds` of silence); "" when the connect is refused.
inline std::string LoopbackExchange(int port, std::string_view request, int timeout_seconds = 10) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  timeval timeout{.tv_sec = timeout_seconds, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string response;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

// GET `target` over HTTP/1.0 (the server closes after answering).
inline std::string HttpGet(int port, std::string_view target, std::string_view method = "GET") {
  return LoopbackExchange(port, std::string(method) + " " + std::string(target) +
                                    " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
}

}  // namespace egmla

#endif  // EGMLA_SERVER_LOOPBACK_TEST_UTIL_H_
