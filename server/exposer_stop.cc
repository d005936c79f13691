#include "server/exposer_stop.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "prometheus/exposer.h"

namespace egmla {
namespace {

// Starts a non-blocking connect to every address of host:port and closes it at once: the SYN
// alone wakes a poll() on the listener; nothing waits for an answer.
void Poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses) != 0) return;
  for (const addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    (void)connect(fd, a->ai_addr, a->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(addresses);
}

}  // namespace

std::string ExposerWakeHost(const std::string& bind_address) {
  const size_t colon = bind_address.rfind(':');
  std::string host = colon == std::string::npos ? "" : bind_address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, const std::string& wake_host) {
  if (exposer == nullptr) return;
  const std::vector<int> ports = exposer->GetListeningPorts();
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      for (int port : ports) Poke(wake_host, port);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  exposer.reset();
  stopped = true;
  waker.join();
}

}  // namespace egmla
