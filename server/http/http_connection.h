// One client connection of HttpServer (internal to http_server.cc): read a request, hand it to
// the handler, write its answer (whole or streamed) whenever it comes, repeat while the client
// keeps the connection alive. Plain TCP or TLS, the same code (the Stream parameter).
//
// Threading: everything here runs on the connection's strand. A handler's HttpResponder posts its
// calls onto that strand, so they may come from any thread; they carry the exchange they belong
// to, and a call for an exchange that is over is dropped.
#ifndef EGMLA_SERVER_HTTP_HTTP_CONNECTION_H_
#define EGMLA_SERVER_HTTP_HTTP_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/http/asio.h"
#include "server/http/http_server.h"

// clang-format off
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
// clang-format on

namespace egmla::http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

inline std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

// Boost 1.74's string_view is boost::string_view, not std::string_view.
inline std::string ToString(beast::string_view text) {
  return std::string(text.data(), text.size());
}

inline std::string ReasonlessBody(int status) {
  return absl::StrCat(status, " ",
                      ToString(http::obsolete_reason(static_cast<http::status>(status))), "\n");
}

// Lets responders reach the I/O threads only while the server runs: Stop() takes it exclusively
// before stopping them, a post takes it shared. Shared with the responders, which may outlive the
// server.
struct StopGate {
  std::shared_mutex mu;
  bool stopped = false;
};

// What the connections share with the server; outlives every connection.
struct ServerState {
  HttpServerOptions options;
  HttpAsyncHandler handler;
  std::atomic<int64_t> num_connections{0};
  std::optional<asio::ssl::context> tls;  // set for HTTPS
  std::shared_ptr<StopGate> stop_gate = std::make_shared<StopGate>();
};

// One request's answer as its responder and its connection both see it: over or not, and whom
// to tell when the client leaves first.
class Exchange {
 public:
  void SetOnGone(std::function<void()> on_gone) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!gone_) {
        if (!ended_) on_gone_ = std::move(on_gone);
        return;
      }
    }
    on_gone();
  }
  // The client left before the answer ended: runs the callback (once).
  void ClientGone() {
    std::function<void()> on_gone;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ended_ || gone_) return;
      gone_ = true;
      on_gone = std::move(on_gone_);
    }
    if (on_gone) on_gone();
  }
  // The whole answer is queued: a later disconnect is not the client leaving early.
  void Ended() {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    on_gone_ = nullptr;
  }
  bool gone() const {
    std::lock_guard<std::mutex> lock(mu_);
    return gone_;
  }

 private:
  mutable std::mutex mu_;
  bool gone_ = false;
  bool ended_ = false;
  std::function<void()> on_gone_;
};

// The status line and headers of `response` (Beast formats them).
inline std::string SerializeHead(const HttpResponse& response, unsigned version, bool keep_alive,
                                 std::optional<size_t> content_length, bool chunked) {
  http::response<http::empty_body> head(static_cast<http::status>(response.status), version);
  head.set(http::field::server, "egmla-serve");
  head.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) head.set(name, value);
  if (content_length) head.content_length(*content_length);
  if (chunked) head.chunked(true);
  head.keep_alive(keep_alive);
  std::ostringstream out;
  out << head.base();
  return out.str();
}

// `data` framed as one chunk of a chunked body.
inline std::string Chunk(const std::string& data) {
  return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
}

template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Connection(Stream stream, ServerState* state) : stream_(std::move(stream)), state_(state) {
    state_->num_connections.fetch_add(1);
  }
  ~Connection() {
    // The server stopped with an answer pending: its producer may stop.
    if (exchange_) exchange_->ClientGone();
    state_->num_connections.fetch_sub(1);
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(ToChrono(state_->options.request_timeout));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

  auto executor() { return stream_.get_executor(); }

  // The responder's calls, on the strand.
  void Respond(Exchange* exchange, HttpResponse response) {
    if (exchange != exchange_.get() || phase_ != Phase::kPending) return;
    keep_alive_ = keep_alive_ && !response.close;
    std::string bytes =
        SerializeHead(response, version_, keep_alive_, response.body.size(), /*chunked=*/false);
    if (!head_request_) bytes += response.body;
    EndExchange();
    Send(std::move(bytes));
  }
  void StartStream(Exchange* exchange, HttpResponse head) {
    if (exchange != exchange_.get() || phase_ != Phase::kPending) return;
    // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
    chunked_ = version_ >= 11;
    keep_alive_ = keep_alive_ && !head.close && chunked_;
    phase_ = Phase::kStreaming;
    std::string bytes = SerializeHead(head, version_, keep_alive_, std::nullopt, chunked_);
    Send(std::move(bytes));
    if (!head.body.empty()) WriteChunk(exchange, std::move(head.body));
  }
  void WriteChunk(Exchange* exchange, std::string data) {
    if (exchange != exchange_.get() || phase_ != Phase::kStreaming || data.empty()) return;
    if (head_request_) return;
    Send(chunked_ ? Chunk(data) : std::move(data));
  }
  void End(Exchange* exchange) {
    if (exchange != exchange_.get() || phase_ != Phase::kStreaming) return;
    EndExchange();
    Send(chunked_ && !head_request_ ? "0\r\n\r\n" : "");
  }

 private:
  enum class Phase { kReading, kPending, kStreaming, kEnded };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadRequest() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(state_->options.max_header_bytes));
    parser_->body_limit(state_->options.max_body_bytes);
    Lowest().expires_after(ToChrono(state_->options.request_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnRead, this->shared_from_this()));
  }

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
    BeginExchange(message.version(), message.keep_alive(), message.method() == http::verb::head);
    Lowest().expires_never();  // an answer may take long: the write timeout guards its writes
    auto responder =
        std::make_shared<Responder>(this->weak_from_this(), exchange_, state_->stop_gate);
    try {
      state_->handler(request, responder);
    } catch (...) {
      Respond(exchange_.get(), {.status = 500, .body = ReasonlessBody(500)});
    }
    if (phase_ != Phase::kEnded) WatchForClose();
  }

  // Answers a request that could not be read, then closes.
  void Refuse(int status) {
    BeginExchange(11, /*keep_alive=*/false, /*head=*/false);
    Respond(exchange_.get(), {.status = status, .body = ReasonlessBody(status)});
  }

  void BeginExchange(unsigned version, bool keep_alive, bool head) {
    exchange_ = std::make_shared<Exchange>();
    phase_ = Phase::kPending;
    version_ = version;
    keep_alive_ = keep_alive;
    head_request_ = head;
    chunked_ = false;
  }

  void EndExchange() {
    phase_ = Phase::kEnded;
    exchange_->Ended();
  }

  // While an answer is pending, a read notices the client closing (EOF or reset) at once, where
  // writes would notice only at the next token. Bytes that do arrive (a pipelined request) are
  // kept for the next read.
  void WatchForClose() {
    if (watching_ || closed_) return;
    watching_ = true;
    stream_.async_read_some(
        buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->watching_ = false;
          if (!ec) self->buffer_.commit(n);
          if (self->resume_reading_) {  // the answer ended meanwhile: next request
            self->resume_reading_ = false;
            if (!self->closed_) self->ReadRequest();
            return;
          }
          if (ec && ec != asio::error::operation_aborted) self->ClientGone();
        });
  }

  void Send(std::string bytes) {
    if (closed_) return;
    queued_ += bytes;
    if (queued_.size() > state_->options.max_queued_bytes) return ClientGone();
    Flush();
  }

  void Flush() {
    if (writing_ || closed_) return;
    if (queued_.empty()) {
      if (phase_ == Phase::kEnded) AfterAnswer();
      return;
    }
    writing_ = true;
    in_flight_.swap(queued_);
    queued_.clear();
    Lowest().expires_after(ToChrono(state_->options.write_timeout));
    asio::async_write(stream_, asio::buffer(in_flight_),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->ClientGone();
                        self->Lowest().expires_never();
                        self->Flush();
                      });
  }

  // The answer is written: the next request, or close.
  void AfterAnswer() {
    exchange_.reset();
    if (!keep_alive_) return Close();
    if (watching_) {  // stop watching first: one read at a time
      resume_reading_ = true;
      beast::error_code ignored;
      Lowest().socket().cancel(ignored);
      return;
    }
    ReadRequest();
  }

  void ClientGone() {
    if (exchange_) exchange_->ClientGone();
    Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Lowest().close();
  }

  // The handler's HttpResponder: posts each call onto the connection's strand.
  class Responder : public HttpResponder {
   public:
    Responder(std::weak_ptr<Connection> connection, std::shared_ptr<Exchange> exchange,
              std::shared_ptr<StopGate> stop_gate)
        : connection_(std::move(connection)),
          exchange_(std::move(exchange)),
          stop_gate_(std::move(stop_gate)) {}
    void Respond(HttpResponse response) override {
      Dispatch([r = std::move(response)](Connection& c, Exchange* e) mutable {
        c.Respond(e, std::move(r));
      });
    }
    void StartStream(HttpResponse head) override {
      Dispatch([h = std::move(head)](Connection& c, Exchange* e) mutable {
        c.StartStream(e, std::move(h));
      });
    }
    bool Write(std::string data) override {
      if (exchange_->gone()) return false;
      Dispatch([d = std::move(data)](Connection& c, Exchange* e) mutable {
        c.WriteChunk(e, std::move(d));
      });
      return true;
    }
    void End() override {
      Dispatch([](Connection& c, Exchange* e) { c.End(e); });
    }
    void OnClientGone(std::function<void()> on_gone) override {
      exchange_->SetOnGone(std::move(on_gone));
    }
    bool client_gone() const override { return exchange_->gone(); }

   private:
    // Runs `fn` on the connection's strand: inline when called there (a handler answering at
    // once), else posted; dropped once the connection or the server is gone.
    template <typename Fn>
    void Dispatch(Fn fn) {
      std::shared_lock<std::shared_mutex> lock(stop_gate_->mu);
      if (stop_gate_->stopped) return;
      std::shared_ptr<Connection> connection = connection_.lock();
      if (connection == nullptr) return;
      asio::dispatch(connection->executor(),
                     [connection, exchange = exchange_, fn = std::move(fn)]() mutable {
                       fn(*connection, exchange.get());
                     });
    }

    const std::weak_ptr<Connection> connection_;
    const std::shared_ptr<Exchange> exchange_;
    const std::shared_ptr<StopGate> stop_gate_;
  };

  Stream stream_;
  ServerState* const state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;

  // The current exchange (null between answers).
  std::shared_ptr<Exchange> exchange_;
  Phase phase_ = Phase::kReading;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool chunked_ = false;

  std::string queued_;     // bytes to write after the one in flight
  std::string in_flight_;  // bytes being written
  bool writing_ = false;
  bool watching_ = false;        // the close-watching read is in flight
  bool resume_reading_ = false;  // read the next request once that read returns
  bool closed_ = false;
};

}  // namespace egmla::http_internal

#endif  // EGMLA_SERVER_HTTP_HTTP_CONNECTION_H_
