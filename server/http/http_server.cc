#include "server/http/http_server.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/host_name.h"
#include "server/http/asio.h"

namespace egmla {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

// Boost 1.74's string_view is boost::string_view, not std::string_view.
std::string ToString(beast::string_view text) { return std::string(text.data(), text.size()); }

std::string ReasonlessBody(int status) {
  return absl::StrCat(status, " ",
                      ToString(http::obsolete_reason(static_cast<http::status>(status))), "\n");
}

// What the connections share with the server; outlives every connection.
struct ServerState {
  HttpServerOptions options;
  HttpHandler handler;
  std::atomic<int64_t> num_connections{0};
};

// One client connection: read a request, answer it, repeat while the client keeps it alive.
// Owned by the handlers of its pending operation (shared_from_this), so it lives exactly as
// long as it has I/O in flight.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, ServerState* state) : stream_(std::move(socket)), state_(state) {
    state_->num_connections.fetch_add(1);
  }
  ~Connection() { state_->num_connections.fetch_sub(1); }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(state_->options.max_header_bytes));
    parser_->body_limit(state_->options.max_body_bytes);
    stream_.expires_after(ToChrono(state_->options.request_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
  }

 private:
  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec == http::error::header_limit) return Refuse(431);
    if (ec == http::error::body_limit) return Refuse(413);
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return Refuse(400);  // not HTTP: say so once, then close
    }
    if (ec) return Close();  // closed, reset, timed out, or stopped

    const auto& message = parser_->get();
    HttpRequest request;
    request.method = ToString(message.method_string());
    request.target = ToString(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(absl::AsciiStrToLower(ToString(field.name_string())),
                                   ToString(field.value()));
    }
    request.body = message.body();
    HttpResponse response;
    try {
      response = state_->handler(request);
    } catch (...) {
      response = {.status = 500, .body = ReasonlessBody(500)};
    }
    Write(std::move(response), message.method() == http::verb::head, message.keep_alive(),
          message.version());
  }

  // Answers a request that could not be read, then closes.
  void Refuse(int status) {
    Write({.status = status, .body = ReasonlessBody(status)}, /*head=*/false, /*keep_alive=*/false,
          11);
  }

  void Write(HttpResponse response, bool head, bool keep_alive, unsigned version) {
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    message->set(http::field::server, "egmla-serve");
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    const size_t size = response.body.size();
    if (!head) message->body() = std::move(response.body);
    message->content_length(size);
    message->keep_alive(keep_alive);
    stream_.expires_after(ToChrono(state_->options.write_timeout));
    http::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) return self->Close();
          self->ReadRequest();
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  ServerState* const state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

std::string HttpRequest::path() const { return target.substr(0, target.find('?')); }

class HttpServer::Impl {
 public:
  explicit Impl(const HttpServerOptions& options, HttpHandler handler)
      : io_(std::make_unique<asio::io_context>(options.num_threads)) {
    retry_timer_.emplace(*io_);
    state_.options = options;
    state_.handler = std::move(handler);
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
      acceptor_.emplace(*io_);
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
    io_->stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    acceptor_.reset();
    retry_timer_.reset();
    // Destroys the handlers still queued, and with them the connections they own, while the
    // state they point at is alive.
    io_.reset();
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

  void Accept() {
    acceptor_->async_accept(
        asio::make_strand(*io_), [this](beast::error_code ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
          if (ec) {
            // Out of descriptors or memory: retry shortly instead of spinning on the error.
            retry_timer_->expires_after(std::chrono::milliseconds(50));
            retry_timer_->async_wait([this](beast::error_code wait_ec) {
              if (!wait_ec) Accept();
            });
            return;
          }
          if (state_.num_connections.load() >= state_.options.max_connections) {
            beast::error_code ignored;
            socket.close(ignored);  // over the limit: refused at once rather than queued
          } else {
            std::make_shared<Connection>(std::move(socket), &state_)->ReadRequest();
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
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port ", options.port, " is not in [0, 65535]"));
  }
  if (options.num_threads < 1 || options.max_connections < 1 || !handler) {
    return absl::InvalidArgumentError("HttpServer needs a handler, a thread and a connection");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  if (absl::Status st = impl->Listen(); !st.ok()) return st;
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() { impl_->Stop(); }

int HttpServer::port() const { return impl_->port(); }

int64_t HttpServer::num_connections() const { return impl_->num_connections(); }

}  // namespace egmla
