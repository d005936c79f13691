// The --api openai client against a scripted HTTP/1.1 server on a loopback socket (plain POSIX
// sockets, a thread per connection): streaming, timing, keep-alive, errors, timeouts, cancel.
#include "load-tests/openai_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "load-tests/openai_protocol.h"
#include "nlohmann/json.hpp"

namespace egmla::loadgen::openai {
namespace {

using namespace std::chrono_literals;

void WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void WriteChunk(int fd, absl::string_view data) {
  std::string chunk = absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
  WriteAll(fd, chunk);
}

void WriteEvent(int fd, absl::string_view json) {
  WriteChunk(fd, absl::StrCat("data: ", json, "\n\n"));
}

std::string TextChunk(const std::string& text, const char* finish = nullptr) {
  nlohmann::json choice = {{"index", 0},
                           {"text", text},
                           {"logprobs", nullptr},
                           {"finish_reason", finish ? nlohmann::json(finish) : nullptr}};
  return nlohmann::json({{"id", "cmpl-7"},
                         {"object", "text_completion"},
                         {"created", 1},
                         {"model", "m"},
                         {"choices", {choice}}})
      .dump();
}

std::string UsageChunk(int prompt, int completion) {
  return nlohmann::json({{"id", "cmpl-7"},
                         {"object", "text_completion"},
                         {"choices", nlohmann::json::array()},
                         {"usage",
                          {{"prompt_tokens", prompt},
                           {"completion_tokens", completion},
                           {"total_tokens", prompt + completion}}}})
      .dump();
}

constexpr char kStreamHead[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

// Reads everything until the peer closes.
void DrainUntilClosed(int fd) {
  char buf[1024];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
}

// One request read off a connection: head and body.
struct Received {
  std::string head;
  std::string body;
};

class FakeServer {
 public:
  // Answers a request; returns whether to read another one on the connection.
  using Script = std::function<bool(int fd, const Received& request)>;

  explicit FakeServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 64), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakeServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : connections_) t.join();
  }

  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  int accepted() const { return accepted_.load(); }
  std::vector<Received> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Accept() {
    for (;;) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string in;
    for (;;) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        if (!Read(fd, &in)) return Close(fd);
      }
      Received request{.head = in.substr(0, end + 4)};
      in.erase(0, end + 4);
      size_t length = 0;
      const size_t at = request.head.find("Content-Length: ");
      if (at != std::string::npos) {
        (void)absl::SimpleAtoi(request.head.substr(at + 16, request.head.find('\r', at) - at - 16),
                               &length);
      }
      while (in.size() < length) {
        if (!Read(fd, &in)) return Close(fd);
      }
      request.body = in.substr(0, length);
      in.erase(0, length);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      if (!script_(fd, request)) return Close(fd);
    }
  }
  static bool Read(int fd, std::string* in) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in->append(buf, static_cast<size_t>(n));
    return true;
  }
  static void Close(int fd) { ::close(fd); }

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<Received> requests_;
};

class RecordingListener final : public CallListener {
 public:
  void OnTokens(int64_t n) override { tokens_ += n; }
  void OnCallDone(RequestRecord record) override {
    record_ = std::move(record);
    done_.Notify();
  }
  const RequestRecord& Wait() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return record_;
  }
  bool done() const { return done_.HasBeenNotified(); }
  int64_t tokens() const { return tokens_.load(); }

 private:
  std::atomic<int64_t> tokens_{0};
  absl::Notification done_;
  RequestRecord record_;
};

const RequestSpec kSpec{.index = 4, .prompt = {.token_ids = {5, 6, 7}}, .max_tokens = 3};
const RequestParams kParams{.request_id_prefix = "t", .temperature = 0, .ignore_eos = true};

std::unique_ptr<Client> NewClient(const std::string& target, ClientOptions options = {}) {
  options.target = target;
  if (options.model.empty()) options.model = "m";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

RequestRecord RunOne(Client* client, const RequestSpec& spec = kSpec,
                     RecordingListener* listener = nullptr) {
  RecordingListener local;
  if (listener == nullptr) listener = &local;
  std::unique_ptr<Call> call = client->NewCall(spec, kParams, Clock::now(), listener);
  call->Start();
  return listener->Wait();
}

// Three tokens 30 ms apart, then finish, usage and [DONE]; keeps the connection.
bool StreamThreeTokens(int fd, const Received&) {
  WriteAll(fd, kStreamHead);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(30ms);
    WriteEvent(fd, TextChunk(absl::StrCat(" w", i), i == 2 ? "length" : nullptr));
  }
  WriteEvent(fd, UsageChunk(3, 3));
  WriteEvent(fd, "[DONE]");
  WriteAll(fd, "0\r\n\r\n");
  return true;
}

TEST(OpenAiClientTest, StreamsAndTimesTokens) {
  FakeServer server(StreamThreeTokens);
  std::unique_ptr<Client> client = NewClient(server.target(), {.api_key = "KEY"});
  RecordingListener listener;
  const RequestRecord r = RunOne(client.get(), kSpec, &listener);
  EXPECT_EQ(r.status, "OK") << r.error_message;
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.index, 4);
  EXPECT_EQ(r.request_id, "cmpl-7");
  EXPECT_EQ(r.output_tokens, 3);
  EXPECT_EQ(r.completion_tokens, 3);
  EXPECT_EQ(r.input_tokens, 3);
  EXPECT_EQ(r.finish_reason, "LENGTH");
  EXPECT_EQ(listener.tokens(), 3);
  ASSERT_TRUE(r.ttft_s.has_value());
  EXPECT_GE(*r.ttft_s, 0.025);
  ASSERT_EQ(r.itl_s.size(), 2u);
  for (double gap : r.itl_s) EXPECT_GE(gap, 0.02);
  EXPECT_GE(r.e2e_s, *r.ttft_s + 0.05);

  const std::vector<Received> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.rfind("POST /v1/completions HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(requests[0].head.find("Authorization: Bearer KEY\r\n"), std::string::npos);
  EXPECT_NE(requests[0].head.find("X-Request-Id: t-4\r\n"), std::string::npos);
  const nlohmann::json body = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(body["prompt"], nlohmann::json::array({5, 6, 7}));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["stream"], true);
}

TEST(OpenAiClientTest, KeepsConnectionsAlive) {
  FakeServer server(StreamThreeTokens);
  std::unique_ptr<Client> client = NewClient(server.target());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(RunOne(client.get()).succeeded());
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(client->connections_opened(), 1);
  EXPECT_EQ(client->connections_reused(), 2);
}

TEST(OpenAiClientTest, WithoutKeepAliveEveryRequestConnects) {
  FakeServer server(StreamThreeTokens);
  std::unique_ptr<Client> client = NewClient(server.target(), {.keep_alive = false});
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(RunOne(client.get()).succeeded());
  EXPECT_EQ(client->connections_opened(), 2);
  EXPECT_EQ(client->connections_reused(), 0);
}

TEST(OpenAiClientTest, ResendsOnceWhenAnIdleConnectionWasClosed) {
  std::atomic<int> served{0};
  FakeServer server([&](int fd, const Received& request) {
    StreamThreeTokens(fd, request);
    return ++served > 1;  // the first connection closes after its response
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  EXPECT_TRUE(RunOne(client.get()).succeeded());
  std::this_thread::sleep_for(50ms);  // the close reaches the client's idle socket
  const RequestRecord r = RunOne(client.get());
  EXPECT_TRUE(r.succeeded()) << r.status << ": " << r.error_message;
  EXPECT_EQ(server.accepted(), 2);
}

TEST(OpenAiClientTest, HttpErrorsByStatus) {
  FakeServer server([](int fd, const Received&) {
    const std::string body =
        R"({"error":{"message":"the queue is full","type":"rate_limit","param":null,"code":429}})";
    WriteAll(fd, absl::StrCat("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json"
                              "\r\nContent-Length: ",
                              body.size(), "\r\n\r\n", body));
    return true;
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  const RequestRecord r = RunOne(client.get());
  EXPECT_FALSE(r.succeeded());
  EXPECT_EQ(r.status, "HTTP_429");
  EXPECT_EQ(r.failure(), "HTTP_429");
  EXPECT_EQ(r.error_message, "the queue is full");
  EXPECT_FALSE(r.ttft_s.has_value());
}

TEST(OpenAiClientTest, StreamWithoutUsageHasNoComplete) {
  FakeServer server([](int fd, const Received&) {
    WriteAll(fd, kStreamHead);
    WriteEvent(fd, TextChunk("x", "length"));
    WriteEvent(fd, "[DONE]");
    WriteAll(fd, "0\r\n\r\n");
    return true;
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  const RequestRecord r = RunOne(client.get());
  EXPECT_EQ(r.status, "OK");
  EXPECT_EQ(r.failure(), kFailureNoComplete);
  EXPECT_NE(r.error_message.find("usage"), std::string::npos) << r.error_message;
}

TEST(OpenAiClientTest, ErrorEventInTheStream) {
  FakeServer server([](int fd, const Received&) {
    WriteAll(fd, kStreamHead);
    WriteEvent(fd, TextChunk("x"));
    WriteEvent(fd, R"({"error":{"message":"engine failed","type":"server_error"}})");
    DrainUntilClosed(fd);
    return false;
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  const RequestRecord r = RunOne(client.get());
  EXPECT_EQ(r.status, kFailureStreamError);
  EXPECT_EQ(r.error_message, "engine failed");
  EXPECT_EQ(r.output_tokens, 1);
}

TEST(OpenAiClientTest, StreamCutShortIsUnavailable) {
  FakeServer server([](int fd, const Received&) {
    WriteAll(fd, kStreamHead);
    WriteEvent(fd, TextChunk("x"));
    return false;  // closes mid-stream
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  const RequestRecord r = RunOne(client.get());
  EXPECT_EQ(r.status, "UNAVAILABLE") << r.error_message;
}

TEST(OpenAiClientTest, RequestTimeout) {
  FakeServer server([](int fd, const Received&) {
    WriteAll(fd, kStreamHead);
    WriteEvent(fd, TextChunk("x"));
    DrainUntilClosed(fd);  // then nothing more until the client gives up
    return false;
  });
  std::unique_ptr<Client> client = NewClient(server.target(), {.request_timeout_s = 0.2});
  const RequestRecord r = RunOne(client.get());
  EXPECT_EQ(r.status, "DEADLINE_EXCEEDED");
  EXPECT_NEAR(r.e2e_s, 0.2, 0.15);
  EXPECT_EQ(r.output_tokens, 1);
}

TEST(OpenAiClientTest, Cancel) {
  absl::Notification first_token;
  FakeServer server([&](int fd, const Received&) {
    WriteAll(fd, kStreamHead);
    WriteEvent(fd, TextChunk("x"));
    DrainUntilClosed(fd);
    return false;
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  RecordingListener listener;
  std::unique_ptr<Call> call = client->NewCall(kSpec, kParams, Clock::now(), &listener);
  call->Start();
  for (int i = 0; i < 400 && listener.tokens() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(listener.tokens(), 1);
  EXPECT_FALSE(listener.done());
  call->Cancel();
  const RequestRecord& r = listener.Wait();
  EXPECT_EQ(r.status, "CANCELLED");
  call.reset();  // destroyed right after OnCallDone, as LoadRunner does
}

TEST(OpenAiClientTest, ConnectionRefused) {
  int port = 0;
  {
    FakeServer closed([](int, const Received&) { return false; });
    port = std::stoi(closed.target().substr(10));
  }
  std::unique_ptr<Client> client = NewClient(absl::StrCat("127.0.0.1:", port));
  const RequestRecord r = RunOne(client.get());
  EXPECT_EQ(r.status, "UNAVAILABLE");
  EXPECT_NE(r.error_message.find("connecting to 127.0.0.1:"), std::string::npos) << r.error_message;
  EXPECT_FALSE(client->Get("/v1/models", 5).ok());
}

TEST(OpenAiClientTest, ManyConcurrentStreamsOnOneThread) {
  FakeServer server(StreamThreeTokens);
  std::unique_ptr<Client> client = NewClient(server.target());
  constexpr int kCalls = 50;
  std::vector<RecordingListener> listeners(kCalls);
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kCalls; ++i) {
    RequestSpec spec = kSpec;
    spec.index = i;
    calls.push_back(client->NewCall(spec, kParams, Clock::now(), &listeners[i]));
    calls.back()->Start();
  }
  for (RecordingListener& l : listeners) EXPECT_TRUE(l.Wait().succeeded());
  EXPECT_EQ(client->connections_opened(), kCalls);
}

TEST(OpenAiClientTest, GetModels) {
  FakeServer server([](int fd, const Received& request) {
    EXPECT_EQ(request.head.rfind("GET /v1/models HTTP/1.1\r\n", 0), 0u);
    const std::string body = R"({"object":"list","data":[{"id":"egmla-kjv","object":"model"}]})";
    WriteAll(fd, absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: ",
                              body.size(), "\r\n\r\n", body));
    return true;
  });
  std::unique_ptr<Client> client = NewClient(server.target());
  absl::StatusOr<HttpReply> reply = client->Get("/v1/models", 5);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->content_type, "application/json");
  EXPECT_EQ(FindModel(reply->body, "")->id, "egmla-kjv");
}

}  // namespace
}  // namespace egmla::loadgen::openai
