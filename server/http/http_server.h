// A small HTTP/1.1 server on Boost.Beast/Asio: a few threads serve any number of connections
// (no thread per connection), so idle or slow clients cost a socket and a buffer, never a
// worker. Used for /metrics and the OpenAI-compatible API (DESIGN §4), whose answers come later,
// from another thread, and may be streamed (chunked transfer encoding: server-sent events).
// HTTPS when a certificate and key are given.
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
  // Close the connection after this response (`Connection: close`), e.g. while draining.
  bool close = false;
};

// The answer to one request, given from any thread, once: either Respond, or StartStream, then
// Write any number of times, then End. Thread-safe; calls after the answer ended, after the
// client left or after the server stopped do nothing.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  // The whole response.
  virtual void Respond(HttpResponse response) = 0;
  // Sends `head`'s status line and headers and starts a chunked body (HTTP/1.0 clients: a body
  // that ends when the connection closes); `head.body`, when not empty, is its first part.
  virtual void StartStream(HttpResponse head) = 0;
  // Queues the next part of a started stream; false when the client is gone (stop producing).
  virtual bool Write(std::string data) = 0;
  // Ends the stream.
  virtual void End() = 0;
  // Runs `on_gone` once, on a server thread, if the client disconnects (or stops reading for the
  // write timeout, or the server stops) before the answer ended; at once, on this thread, when
  // that happened already. A later call replaces an earlier one.
  virtual void OnClientGone(std::function<void()> on_gone) = 0;
  // True once the client is gone (see OnClientGone).
  virtual bool client_gone() const = 0;
};

// Called on one of the server's threads for every well-formed request; must not block for long
// (it holds that thread). Exceptions become a 500.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// The same for answers that come later: the handler keeps `responder` and answers from any
// thread. A handler that throws before answering gets a 500.
using HttpAsyncHandler =
    std::function<void(const HttpRequest& request, std::shared_ptr<HttpResponder> responder)>;

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
  // A streamed answer's bytes queued for a client that reads slower than they come; past this
  // the client is dropped (as gone).
  size_t max_queued_bytes = 4 << 20;
  // HTTPS when both are set (PEM text, not paths).
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

class HttpServer {
 public:
  // Binds and starts serving. UNAVAILABLE naming "host:port" when the address cannot be bound
  // (in use, or not an address of this host); INVALID_ARGUMENT for a bad option.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpAsyncHandler handler);

  // Stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Closes the listener and every connection. When it returns no handler is running and none
  // will be called again. Idempotent.
  void Stop();

  // Closes the listener only: new connections are refused, the open ones are served (a drain).
  // Thread-safe.
  void CloseListener();

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
