#include "server/exposer_stop.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "prometheus/exposer.h"
#include "server/host_name.h"

namespace egmla {
namespace {

struct Address {
  int family = 0;
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// Every address of host:port, for every listening port.
std::vector<Address> Resolve(const std::string& host, const std::vector<int>& ports) {
  std::vector<Address> resolved;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  for (int port : ports) {
    addrinfo* addresses = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses) != 0) continue;
    for (const addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
      Address address{.family = a->ai_family, .length = a->ai_addrlen};
      std::memcpy(&address.storage, a->ai_addr, a->ai_addrlen);
      resolved.push_back(address);
    }
    freeaddrinfo(addresses);
  }
  return resolved;
}

// Starts a non-blocking connect and closes it at once: the SYN alone wakes a poll() on the
// listener; nothing waits for an answer.
void Poke(const Address& address) {
  const int fd = socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
  close(fd);
}

}  // namespace

std::string ExposerWakeHost(const std::string& bind_address) {
  const size_t colon = bind_address.rfind(':');
  const std::string host =
      Unbracketed(colon == std::string::npos ? "" : bind_address.substr(0, colon));
  if (!IsWildcardHost(host)) return host;
  return host == "::" ? "::1" : "127.0.0.1";
}

void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, const std::string& bind_address) {
  if (exposer == nullptr) return;
  const std::vector<Address> listener =
      Resolve(ExposerWakeHost(bind_address), exposer->GetListeningPorts());
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      for (const Address& address : listener) Poke(address);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  exposer.reset();
  stopped = true;
  waker.join();
}

}  // namespace egmla
