#include "server/http/http_server.h"

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/host_name.h"
#include "server/http/http_connection.h"

namespace egmla {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using http_internal::Connection;
using http_internal::ServerState;

// The TLS context of HTTPS: the certificate chain and key, TLS 1.2 or later.
absl::StatusOr<asio::ssl::context> MakeTlsContext(const HttpServerOptions& o) {
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  beast::error_code ec;
  tls.use_certificate_chain(asio::buffer(o.tls_cert_pem), ec);
  if (ec) return absl::InvalidArgumentError("TLS certificate: " + ec.message());
  tls.use_private_key(asio::buffer(o.tls_key_pem), asio::ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError("TLS key: " + ec.message());
  return tls;
}

}  // namespace

std::string HttpRequest::path() const { return target.substr(0, target.find('?')); }

class HttpServer::Impl {
 public:
  explicit Impl(const HttpServerOptions& options, HttpAsyncHandler handler)
      : io_(std::make_unique<asio::io_context>(options.num_threads)) {
    retry_timer_.emplace(*io_);
    state_.options = options;
    state_.handler = std::move(handler);
  }

  absl::Status SetUpTls() {
    if (state_.options.tls_cert_pem.empty() && state_.options.tls_key_pem.empty()) {
      return absl::OkStatus();
    }
    absl::StatusOr<asio::ssl::context> tls = MakeTlsContext(state_.options);
    if (!tls.ok()) return tls.status();
    state_.tls.emplace(*std::move(tls));
    return absl::OkStatus();
  }
  ~Impl() { Stop(); }

  absl::Status Listen() {
    const HttpServerOptions& o = state_.options;
    const std::string host = Unbracketed(o.host);
    const std::string where = absl::StrCat(
        host.find(':') == std::string::npos ? host : absl::StrCat("[", host, "]"), ":", o.port);
    std::vector<tcp::endpoint> candidates;
    beast::error_code ec;
    if (IsWildcardHost(host)) {
      // [::] with IPV6_V6ONLY off takes IPv4 too; 0.0.0.0 where IPv6 is off.
      candidates = {tcp::endpoint(asio::ip::address_v6::any(), static_cast<uint16_t>(o.port)),
                    tcp::endpoint(asio::ip::address_v4::any(), static_cast<uint16_t>(o.port))};
    } else {
      tcp::resolver resolver(*io_);
      auto results = resolver.resolve(host, std::to_string(o.port),
                                      tcp::resolver::numeric_service | tcp::resolver::passive, ec);
      if (ec) {
        return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
      }
      for (const auto& entry : results) candidates.push_back(entry.endpoint());
    }
    for (const tcp::endpoint& endpoint : candidates) {
      acceptor_.emplace(asio::make_strand(*io_));
      if (TryListen(endpoint, ec)) return absl::OkStatus();
      acceptor_.reset();
    }
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where,
                     " (address in use or not of this host): ", ec ? ec.message() : "no address"));
  }

  void Run() {
    Accept();
    for (int i = 0; i < state_.options.num_threads; ++i) {
      threads_.emplace_back([io = io_.get()] { io->run(); });
    }
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    if (io_ == nullptr) return;
    {
      // No responder reaches the I/O threads from here on.
      std::unique_lock<std::shared_mutex> lock(state_.stop_gate->mu);
      state_.stop_gate->stopped = true;
    }
    io_->stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    acceptor_.reset();
    retry_timer_.reset();
    // Destroys the handlers still queued, and with them the connections they own, while the
    // state they point at is alive.
    io_.reset();
  }

  void CloseListener() {
    if (stopped_.load() || !acceptor_) return;
    auto closed = std::make_shared<std::promise<void>>();
    std::future<void> done = closed->get_future();
    // On the acceptor's strand, as its accept handler runs there.
    asio::post(acceptor_->get_executor(), [this, closed] {
      // What the kernel accepted already is served, not reset: a load balancer that connected
      // has sent, or is sending, its request.
      beast::error_code ec;
      acceptor_->non_blocking(true, ec);
      while (!ec) {
        tcp::socket socket(asio::make_strand(*io_));
        acceptor_->accept(socket, ec);
        if (!ec) Serve(std::move(socket));
      }
      acceptor_->close(ec);
      closed->set_value();
    });
    done.wait_for(std::chrono::seconds(5));
  }

  int port() const { return port_; }
  int64_t num_connections() const { return state_.num_connections.load(); }

 private:
  bool TryListen(const tcp::endpoint& endpoint, beast::error_code& ec) {
    acceptor_->open(endpoint.protocol(), ec);
    if (ec) return false;
    if (endpoint.address().is_v6()) acceptor_->set_option(asio::ip::v6_only(false), ec);
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    acceptor_->bind(endpoint, ec);
    if (ec) return false;
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return false;
    port_ = acceptor_->local_endpoint(ec).port();
    return !ec;
  }

  void Serve(tcp::socket socket) {
    beast::error_code ignored;
    if (state_.num_connections.load() >= state_.options.max_connections) {
      socket.close(ignored);  // over the limit: refused at once rather than queued
      return;
    }
    // A stream is many small writes: without this, Nagle's algorithm holds each one back until
    // the client's delayed ACK of the previous one (~40 ms a token on a kept-alive connection).
    socket.set_option(tcp::no_delay(true), ignored);
    if (state_.tls) {
      using TlsStream = beast::ssl_stream<beast::tcp_stream>;
      std::make_shared<Connection<TlsStream>>(TlsStream(std::move(socket), *state_.tls), &state_)
          ->Start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), &state_)
          ->Start();
    }
  }

  void Accept() {
    acceptor_->async_accept(asio::make_strand(*io_),
                            [this](beast::error_code ec, tcp::socket socket) {
                              // A connection accepted just before CloseListener closed the acceptor
                              // is served too.
                              if (!ec) Serve(std::move(socket));
                              if (ec == asio::error::operation_aborted || !acceptor_->is_open())
                                return;
                              if (ec) {
                                // Out of descriptors or memory: retry shortly instead of spinning
                                // on the error.
                                retry_timer_->expires_after(std::chrono::milliseconds(50));
                                retry_timer_->async_wait([this](beast::error_code wait_ec) {
                                  if (!wait_ec) Accept();
                                });
                                return;
                              }
                              Accept();
                            });
  }

  ServerState state_;
  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::steady_timer> retry_timer_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler handler) {
  if (!handler) return Start(options, HttpAsyncHandler());
  return Start(options, [handler = std::move(handler)](const HttpRequest& request,
                                                       std::shared_ptr<HttpResponder> responder) {
    responder->Respond(handler(request));
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpAsyncHandler handler) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port ", options.port, " is not in [0, 65535]"));
  }
  if (options.num_threads < 1 || options.max_connections < 1 || !handler) {
    return absl::InvalidArgumentError("HttpServer needs a handler, a thread and a connection");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  if (absl::Status st = impl->SetUpTls(); !st.ok()) return st;
  if (absl::Status st = impl->Listen(); !st.ok()) return st;
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() { impl_->Stop(); }

void HttpServer::CloseListener() { impl_->CloseListener(); }

int HttpServer::port() const { return impl_->port(); }

int64_t HttpServer::num_connections() const { return impl_->num_connections(); }

}  // namespace egmla
