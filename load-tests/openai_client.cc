#include "load-tests/openai_client.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "load-tests/openai_protocol.h"
#include "server/http/asio.h"

namespace egmla::loadgen::openai {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// An error body is kept up to this size (the message is cut to 200 bytes anyway).
constexpr size_t kMaxErrorBody = 64 << 10;

absl::string_view ToAbsl(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Clock::duration FromSeconds(double seconds) {
  // Capped at a year so that the conversion cannot overflow.
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::min(seconds, 365.0 * 24 * 3600)));
}

class ClientImpl;

// One streamed POST /v1/completions. Owned by shared pointers: the CallHandle the runner holds
// and every pending handler, so it outlives its last handler. Everything but the constructor,
// Start() and Cancel() runs on the client's one I/O thread.
class HttpStream : public std::enable_shared_from_this<HttpStream> {
 public:
  HttpStream(ClientImpl* client, int64_t index, std::string request_id, std::string request,
             int64_t input_tokens, Clock::time_point run_start, CallListener* listener);

  void Start();
  void Cancel();

 private:
  void Begin();
  void Connect();
  void OnConnect(const beast::error_code& ec);
  void Write();
  void OnWrite(const beast::error_code& ec);
  void ReadHeader();
  void OnHeader(const beast::error_code& ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  // A kept-alive connection failed before any byte of the response (the server closed it while
  // idle): sends again once on a new connection. False when that does not apply.
  bool RetryOnNewConnection();
  void OnEvent(const std::string& data, Clock::time_point now);
  void EndOfBody();
  // Records the outcome and tells the listener, once; later calls do nothing. `reusable`: the
  // connection goes back to the client's idle pool.
  void Finish(std::string status, std::string message, bool reusable = false);

  ClientImpl* client_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const std::string request_;  // head and body
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 8192> chunk_;
  SseParser sse_;
  std::string error_body_;  // of a response other than 200
  int status_ = 0;
  bool reused_ = false;   // the connection served an earlier request
  bool retried_ = false;  // RetryOnNewConnection ran
  bool finished_ = false;

  Clock::time_point run_start_;
  Clock::time_point start_;
  Clock::time_point last_chunk_;
  CallListener* listener_;
  RequestRecord record_;
};

class CallHandle final : public Call {
 public:
  explicit CallHandle(std::shared_ptr<HttpStream> stream) : stream_(std::move(stream)) {}
  void Start() override { stream_->Start(); }
  void Cancel() override { stream_->Cancel(); }

 private:
  std::shared_ptr<HttpStream> stream_;
};

class ClientImpl final : public Client {
 public:
  ClientImpl(ClientOptions options, std::string host_header, tcp::resolver::results_type endpoints)
      : options_(std::move(options)),
        host_header_(std::move(host_header)),
        endpoints_(std::move(endpoints)),
        work_(asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {}

  ~ClientImpl() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void set_model(std::string model) override { options_.model = std::move(model); }

  std::unique_ptr<Call> NewCall(const RequestSpec& spec, const RequestParams& params,
                                Clock::time_point run_start, CallListener* listener) override {
    std::string id = absl::StrCat(params.request_id_prefix, "-", spec.index);
    std::string request = CompletionHttpRequest(
        host_header_, options_.api_key, id, CompletionRequestBody(spec, params, options_.model));
    return std::make_unique<CallHandle>(std::make_shared<HttpStream>(
        this, spec.index, std::move(id), std::move(request),
        static_cast<int64_t>(spec.prompt.token_ids.size()), run_start, listener));
  }

  absl::StatusOr<HttpReply> Get(const std::string& path, double timeout_s) override;

  int64_t connections_opened() const override { return opened_.load(); }
  int64_t connections_reused() const override { return reused_.load(); }

  // For HttpStream, on the I/O thread.
  asio::io_context& io() { return io_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  const ClientOptions& options() const { return options_; }
  const std::string& target() const { return options_.target; }
  void CountOpened() { opened_.fetch_add(1, std::memory_order_relaxed); }
  std::optional<tcp::socket> TakeIdle() {
    if (idle_.empty()) return std::nullopt;
    std::optional<tcp::socket> socket(std::move(idle_.back()));
    idle_.pop_back();
    reused_.fetch_add(1, std::memory_order_relaxed);
    return socket;
  }
  void PutIdle(tcp::socket socket) {
    if (options_.keep_alive) idle_.push_back(std::move(socket));
  }

 private:
  ClientOptions options_;
  const std::string host_header_;
  const tcp::resolver::results_type endpoints_;
  asio::io_context io_;            // before the sockets that use it
  std::vector<tcp::socket> idle_;  // kept-alive connections; the I/O thread's only
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::atomic<int64_t> opened_{0};
  std::atomic<int64_t> reused_{0};
  std::thread thread_;  // last: starts once the rest exists
};

HttpStream::HttpStream(ClientImpl* client, int64_t index, std::string request_id,
                       std::string request, int64_t input_tokens, Clock::time_point run_start,
                       CallListener* listener)
    : client_(client),
      socket_(client->io()),
      timer_(client->io()),
      request_(std::move(request)),
      run_start_(run_start),
      listener_(listener) {
  record_.index = index;
  record_.request_id = std::move(request_id);
  record_.input_tokens = input_tokens;
}

void HttpStream::Start() {
  start_ = Clock::now();
  record_.start_s = Seconds(start_ - run_start_);
  asio::post(client_->io(), [self = shared_from_this()] { self->Begin(); });
}

void HttpStream::Cancel() {
  asio::post(client_->io(), [self = shared_from_this()] {
    self->Finish("CANCELLED", "cancelled by egmla-loadgen");
  });
}

void HttpStream::Begin() {
  if (finished_) return;
  if (const std::optional<double> timeout = client_->options().request_timeout_s) {
    timer_.expires_at(start_ + FromSeconds(*timeout));
    timer_.async_wait([self = shared_from_this(), timeout](const beast::error_code& ec) {
      if (ec) return;  // cancelled: the call finished first
      self->Finish("DEADLINE_EXCEEDED",
                   absl::StrCat("no complete response within --request-timeout ", *timeout, " s"));
    });
  }
  if (std::optional<tcp::socket> idle = client_->TakeIdle()) {
    socket_ = std::move(*idle);
    reused_ = true;
    Write();
  } else {
    Connect();
  }
}

void HttpStream::Connect() {
  asio::async_connect(socket_, client_->endpoints(),
                      [self = shared_from_this()](const beast::error_code& ec,
                                                  const tcp::endpoint&) { self->OnConnect(ec); });
}

void HttpStream::OnConnect(const beast::error_code& ec) {
  if (finished_) return;
  if (ec) {
    Finish("UNAVAILABLE", absl::StrCat("connecting to ", client_->target(), ": ", ec.message()));
    return;
  }
  client_->CountOpened();
  beast::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  Write();
}

void HttpStream::Write() {
  asio::async_write(
      socket_, asio::buffer(request_),
      [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnWrite(ec); });
}

void HttpStream::OnWrite(const beast::error_code& ec) {
  if (finished_) return;
  if (ec) {
    if (RetryOnNewConnection()) return;
    Finish("UNAVAILABLE", absl::StrCat("sending the request: ", ec.message()));
    return;
  }
  ReadHeader();
}

void HttpStream::ReadHeader() {
  parser_.emplace();
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnHeader(ec); });
}

void HttpStream::OnHeader(const beast::error_code& ec) {
  if (finished_) return;
  if (ec) {
    if (buffer_.size() == 0 && RetryOnNewConnection()) return;
    Finish("UNAVAILABLE", absl::StrCat("reading the response: ", ec.message()));
    return;
  }
  status_ = static_cast<int>(parser_->get().result_int());
  if (parser_->is_done()) {
    EndOfBody();
  } else {
    ReadBody();
  }
}

bool HttpStream::RetryOnNewConnection() {
  if (!reused_ || retried_) return false;
  retried_ = true;
  reused_ = false;
  beast::error_code ignored;
  socket_.close(ignored);
  socket_ = tcp::socket(client_->io());
  buffer_.clear();
  parser_.reset();
  Connect();
  return true;
}

void HttpStream::ReadBody() {
  http::buffer_body::value_type& body = parser_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  http::async_read_some(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnBody(ec); });
}

void HttpStream::OnBody(beast::error_code ec) {
  if (finished_) return;
  if (ec == http::error::need_buffer) ec = {};  // chunk_ is full
  const size_t received = chunk_.size() - parser_->get().body().size;
  if (received > 0) {
    const absl::string_view bytes(chunk_.data(), received);
    if (status_ == 200) {
      const Clock::time_point now = Clock::now();
      sse_.Feed(bytes, [this, now](const std::string& data) { OnEvent(data, now); });
      if (finished_) return;
    } else if (error_body_.size() < kMaxErrorBody) {
      error_body_.append(bytes.data(), std::min(bytes.size(), kMaxErrorBody - error_body_.size()));
    }
  }
  if (ec) {
    Finish("UNAVAILABLE", absl::StrCat("reading the response body: ", ec.message()));
  } else if (parser_->is_done()) {
    EndOfBody();
  } else {
    ReadBody();
  }
}

void HttpStream::OnEvent(const std::string& data, Clock::time_point now) {
  if (finished_ || data == "[DONE]") return;
  absl::StatusOr<CompletionChunk> chunk = ParseCompletionChunk(data);
  if (!chunk.ok()) {
    Finish(kFailureStreamError, std::string(chunk.status().message()));
    return;
  }
  if (chunk->error) {
    Finish(kFailureStreamError, *chunk->error);
    return;
  }
  if (!chunk->id.empty()) record_.request_id = chunk->id;
  if (chunk->num_choices > 0) {
    // One token per chunk with a choice: the server sends a chunk per engine step.
    if (!record_.ttft_s) {
      record_.ttft_s = Seconds(now - start_);
    } else {
      record_.itl_s.push_back(Seconds(now - last_chunk_));
    }
    last_chunk_ = now;
    ++record_.output_tokens;
    listener_->OnTokens(1);
  }
  if (!chunk->finish_reason.empty()) record_.finish_reason = FinishReasonName(chunk->finish_reason);
  if (chunk->completion_tokens) {
    record_.completion_tokens = chunk->completion_tokens;
    if (chunk->prompt_tokens) record_.input_tokens = *chunk->prompt_tokens;
  }
}

void HttpStream::EndOfBody() {
  const bool reusable = parser_->keep_alive() && buffer_.size() == 0;
  if (status_ != 200) {
    Finish(HttpFailureName(status_), HttpErrorMessage(error_body_, ToAbsl(parser_->get().reason())),
           reusable);
  } else if (!record_.completion_tokens) {
    std::string message = "the event stream ended without a usage chunk";
    const absl::string_view type = ToAbsl(parser_->get()[http::field::content_type]);
    if (!absl::StartsWith(type, "text/event-stream")) {
      absl::StrAppend(&message, " (Content-Type: ", type, ", not text/event-stream)");
    }
    Finish("OK", std::move(message), reusable);
  } else {
    Finish("OK", "", reusable);
  }
}

void HttpStream::Finish(std::string status, std::string message, bool reusable) {
  if (finished_) return;
  finished_ = true;
  record_.e2e_s = Seconds(Clock::now() - start_);
  record_.status = std::move(status);
  record_.error_message = std::move(message);
  timer_.cancel();
  if (reusable) {
    client_->PutIdle(std::move(socket_));
  } else {
    beast::error_code ignored;
    socket_.close(ignored);  // ends the pending operations (operation_aborted)
  }
  // The runner may destroy the handle once told; the pending handlers keep `this` alive.
  listener_->OnCallDone(std::move(record_));
}

absl::StatusOr<HttpReply> ClientImpl::Get(const std::string& path, double timeout_s) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(FromSeconds(timeout_s));
  http::request<http::empty_body> request(http::verb::get, path, 11);
  request.set(http::field::host, host_header_);
  request.set(http::field::accept, "application/json");
  if (!options_.api_key.empty()) {
    request.set(http::field::authorization, absl::StrCat("Bearer ", options_.api_key));
  }
  request.keep_alive(false);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code result;
  std::string stage = "connecting";
  stream.async_connect(endpoints_, [&](const beast::error_code& ec, const tcp::endpoint&) {
    if (ec) {
      result = ec;
      return;
    }
    stage = "sending the request";
    http::async_write(stream, request, [&](const beast::error_code& ec, size_t) {
      if (ec) {
        result = ec;
        return;
      }
      stage = "reading the response";
      http::async_read(stream, buffer, response,
                       [&](const beast::error_code& ec, size_t) { result = ec; });
    });
  });
  io.run();
  if (result) {
    return absl::UnavailableError(absl::StrCat("GET ", path, ": ", stage, ": ", result.message()));
  }
  return HttpReply{.status = static_cast<int>(response.result_int()),
                   .content_type = std::string(response[http::field::content_type]),
                   .body = std::move(response.body())};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  absl::StatusOr<HostPort> target = ParseTarget(options.target);
  if (!target.ok()) return target.status();
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  tcp::resolver::results_type endpoints = resolver.resolve(target->host, target->port, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("--target: cannot resolve '", target->host, "': ", ec.message()));
  }
  std::string host_header = target->host.find(':') == std::string::npos
                                ? absl::StrCat(target->host, ":", target->port)
                                : absl::StrCat("[", target->host, "]:", target->port);
  return std::unique_ptr<Client>(
      new ClientImpl(std::move(options), std::move(host_header), std::move(endpoints)));
}

}  // namespace egmla::loadgen::openai
