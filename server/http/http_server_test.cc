#include "server/http/http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/loopback_test_util.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Echoes the method and target; "/throw" throws.
HttpResponse Echo(const HttpRequest& request) {
  if (request.path() == "/throw") throw std::runtime_error("boom");
  return {.body = absl::StrCat(request.method, " ", request.target, " body=", request.body.size())};
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options = {}) {
  options.host = "127.0.0.1";
  auto server = HttpServer::Start(options, Echo);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Seconds `fn` took.
template <typename Fn>
double SecondsOf(Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(HttpServerTest, AnswersWithTheHandlersResponse) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);
  const std::string response = HttpGet(server->port(), "/a?b=c");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\nGET /a?b=c body=0"));
}

TEST(HttpServerTest, HeadGetsTheLengthButNoBody) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string response = HttpGet(server->port(), "/x", "HEAD");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Length: 14\r\n"));  // "HEAD /x body=0"
  EXPECT_THAT(response, ::testing::EndsWith("\r\n\r\n"));
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string response =
      LoopbackExchange(server->port(),
                       "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                       "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                       "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(response, HasSubstr("GET /1 body=0"));
  EXPECT_THAT(response, HasSubstr("POST /2 body=3"));
  EXPECT_THAT(response, HasSubstr("GET /3 body=0"));
}

TEST(HttpServerTest, GarbageGetsA400AndTheServerGoesOn) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(LoopbackExchange(server->port(), std::string("\x16\x03\x01\x00\xff garbage\r\n\r\n")),
              StartsWith("HTTP/1.1 400 Bad Request"));
  EXPECT_THAT(LoopbackExchange(server->port(), "GET\r\n\r\n"), StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(HttpGet(server->port(), "/after"), HasSubstr("GET /after"));
}

TEST(HttpServerTest, OversizedHeadersAndBodiesAreRefused) {
  auto server = StartServer({.max_header_bytes = 1024, .max_body_bytes = 100});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(LoopbackExchange(server->port(), absl::StrCat("GET / HTTP/1.1\r\nX-Big: ",
                                                            std::string(4096, 'a'), "\r\n\r\n")),
              StartsWith("HTTP/1.1 431"));
  EXPECT_THAT(LoopbackExchange(server->port(), absl::StrCat("POST / HTTP/1.1\r\nContent-Length: "
                                                            "1000\r\n\r\n",
                                                            std::string(1000, 'b'))),
              StartsWith("HTTP/1.1 413"));
  EXPECT_THAT(HttpGet(server->port(), "/after"), HasSubstr("GET /after"));
}

TEST(HttpServerTest, AThrowingHandlerIsA500) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(HttpGet(server->port(), "/throw"), StartsWith("HTTP/1.0 500"));
  EXPECT_THAT(HttpGet(server->port(), "/after"), HasSubstr("GET /after"));
}

// Slowloris: connections that send nothing, or half a request, hold no worker.
TEST(HttpServerTest, IdleAndSlowConnectionsDoNotStallOthers) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::vector<int> idle;
  for (int i = 0; i < 50; ++i) {
    const int fd = ConnectLoopback(server->port());
    ASSERT_GE(fd, 0);
    if (i % 2 == 1) send(fd, "GET /slow HTTP/1.1\r\nHo", 22, MSG_NOSIGNAL);
    idle.push_back(fd);
  }
  std::string response;
  const double seconds = SecondsOf([&] { response = HttpGet(server->port(), "/fast"); });
  EXPECT_THAT(response, HasSubstr("GET /fast"));
  EXPECT_LT(seconds, 2.0);
  for (int fd : idle) close(fd);
}

TEST(HttpServerTest, AConnectionThatSendsNoRequestIsClosedAfterTheTimeout) {
  auto server = StartServer({.request_timeout = absl::Milliseconds(200)});
  ASSERT_NE(server, nullptr);
  const int fd = ConnectLoopback(server->port());
  ASSERT_GE(fd, 0);
  send(fd, "GET / HT", 8, MSG_NOSIGNAL);
  char buf[64];
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ssize_t n = 0;
  const double seconds = SecondsOf([&] { n = recv(fd, buf, sizeof(buf), 0); });
  EXPECT_EQ(n, 0) << "the server should close the connection";
  EXPECT_LT(seconds, 3.0);
  close(fd);
}

TEST(HttpServerTest, ConnectionsOverTheLimitAreClosedAtOnce) {
  auto server = StartServer({.max_connections = 2});
  ASSERT_NE(server, nullptr);
  const int a = ConnectLoopback(server->port());
  const int b = ConnectLoopback(server->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  for (int i = 0; i < 100 && server->num_connections() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server->num_connections(), 2);
  EXPECT_EQ(HttpGet(server->port(), "/third"), "");
  close(a);
  close(b);
  for (int i = 0; i < 100 && server->num_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(HttpGet(server->port(), "/later"), HasSubstr("GET /later"));
}

TEST(HttpServerTest, StopClosesOpenConnectionsAndTheListenerPromptly) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  std::vector<int> open;
  for (int i = 0; i < 10; ++i) open.push_back(ConnectLoopback(port));
  for (int i = 0; i < 100 && server->num_connections() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LT(SecondsOf([&] { server->Stop(); }), 1.0);
  EXPECT_EQ(ConnectLoopback(port), -1);
  char buf[8];
  EXPECT_EQ(recv(open[0], buf, sizeof(buf), 0), 0);
  for (int fd : open) close(fd);
  server->Stop();  // idempotent
}

TEST(HttpServerTest, StopWhileClientsHammerIsClean) {
  for (int round = 0; round < 5; ++round) {
    auto server = StartServer({.num_threads = 2});
    ASSERT_NE(server, nullptr);
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 3; ++c) {
      clients.emplace_back([&, port = server->port()] {
        while (!stop) HttpGet(port, "/x");
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.reset();
    stop = true;
    for (std::thread& t : clients) t.join();
  }
}

TEST(HttpServerTest, AnAddressInUseIsAnErrorNamingIt) {
  auto first = StartServer();
  ASSERT_NE(first, nullptr);
  auto second = HttpServer::Start({.host = "127.0.0.1", .port = first->port()}, Echo);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", first->port())));
  EXPECT_THAT(HttpGet(first->port(), "/still"), HasSubstr("GET /still"));
}

TEST(HttpServerTest, BadHostsAndPortsAreErrors) {
  auto bad_host = HttpServer::Start({.host = "not-an-address.invalid", .port = 0}, Echo);
  ASSERT_FALSE(bad_host.ok());
  EXPECT_THAT(bad_host.status().message(), HasSubstr("not-an-address.invalid"));
  EXPECT_FALSE(HttpServer::Start({.host = "127.0.0.1", .port = 70000}, Echo).ok());
  EXPECT_FALSE(HttpServer::Start({.host = "127.0.0.1"}, HttpHandler()).ok());
  EXPECT_FALSE(HttpServer::Start({.host = "127.0.0.1"}, HttpAsyncHandler()).ok());
}

TEST(HttpServerTest, AWildcardHostTakesIpv4) {
  auto server = HttpServer::Start({.host = "0.0.0.0", .port = 0}, Echo);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT(HttpGet((*server)->port(), "/v4"), HasSubstr("GET /v4"));
}

}  // namespace
}  // namespace egmla
