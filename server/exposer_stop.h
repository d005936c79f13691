// Stopping prometheus-cpp's Exposer (civetweb) without waiting out civetweb's poll quantum.
#ifndef EGMLA_SERVER_EXPOSER_STOP_H_
#define EGMLA_SERVER_EXPOSER_STOP_H_

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace egmla {

// Where to connect to reach a listener bound to `bind_address` (civetweb's listening_ports
// syntax: "host:port", "[v6]:port" or "port"): the host part, a wildcard turned into loopback.
std::string ExposerWakeHost(const std::string& bind_address);

// Destroys `exposer`, bound to `bind_address` (no-op when null), returning in milliseconds
// rather than ~2 s.
// Why: civetweb's master thread notices mg_stop only when its poll() of the listening sockets
// returns, which on an idle listener is after SOCKET_TIMEOUT_QUANTUM (2 s in Debian's civetweb
// 1.15), so every server exit took 2 s. A helper thread keeps connecting to the listener (at
// ExposerWakeHost) while the exposer stops; the connection wakes the poll. A connection that
// arrives before the stop is served as an empty request and closed by civetweb.
void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, const std::string& bind_address);

}  // namespace egmla

#endif  // EGMLA_SERVER_EXPOSER_STOP_H_
