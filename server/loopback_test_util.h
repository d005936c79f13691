// Test helper shared by the server's socket tests.
#ifndef EGMLA_SERVER_LOOPBACK_TEST_UTIL_H_
#define EGMLA_SERVER_LOOPBACK_TEST_UTIL_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

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

}  // namespace egmla

#endif  // EGMLA_SERVER_LOOPBACK_TEST_UTIL_H_
