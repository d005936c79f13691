// A small HTTP/1.1 server on Boost.Beast/Asio: a few threads serve any number of connections
// (no thread per connection), so idle or slow clients cost a socket and a buffer, never a
// worker. Used for /metrics (and meant for the OpenAI-compatible API: DESIGN §4).
#ifndef EGMLA_SERVER_HTTP_HTTP_SERVER_H_
#define EGMLA_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace egmla {

// What a handler sees of a request. Header names are lower case.
struct HttpRequest {
  std::string method;  // "GET", "HEAD", "POST", ... as sent (case kept)
  std::string target;  // "/metrics?x=1": the path and the query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The target without its query ("/metrics").
  std::string path() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Allow
  std::string body;  // not sent for HEAD (Content-Length still says its size)
};

// Called on one of the server's threads for every well-formed request; must not block for long
// (it holds that thread). Exceptions become a 500.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "0.0.0.0";  // a wildcard listens dual-stack on [::] (IPv4 too)
  int port = 0;                  // 0: any free port (see HttpServer::port())
  int num_threads = 1;
  // Connections open at once; one more is accepted and closed at once.
  int64_t max_connections = 4096;
  // A request must arrive whole within this, counted from the connection's accept or the end of
  // its previous response (so an idle keep-alive connection is closed after it, too).
  absl::Duration request_timeout = absl::Seconds(30);
  // A response must be written within this (a client that stops reading is dropped).
  absl::Duration write_timeout = absl::Seconds(30);
  size_t max_header_bytes = 16 << 10;  // larger: 431
  size_t max_body_bytes = 1 << 20;     // larger: 413
};

class HttpServer {
 public:
  // Binds and starts serving. UNAVAILABLE naming "host:port" when the address cannot be bound
  // (in use, or not an address of this host); INVALID_ARGUMENT for a bad option.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);

  // Stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Closes the listener and every connection. When it returns no handler is running and none
  // will be called again. Idempotent.
  void Stop();

  // The port listened on (the actual one when 0 was asked for).
  int port() const;

  // Connections open right now.
  int64_t num_connections() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace egmla

#endif  // EGMLA_SERVER_HTTP_HTTP_SERVER_H_
