// HttpServer's later and streamed answers (HttpResponder): from another thread, chunked, with
// keep-alive after them, and the client leaving before the end.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "server/loopback_test_util.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Keeps every responder and answers from a thread of its own, as the engine does.
class LaterHandler {
 public:
  ~LaterHandler() {
    for (std::thread& t : threads_) t.join();
  }

  HttpAsyncHandler handler() {
    return [this](const HttpRequest& request, std::shared_ptr<HttpResponder> responder) {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string path = request.path();
      if (path == "/hold") {  // never answered until the test says so
        responder->OnClientGone([this] { gone_.Notify(); });
        held_ = responder;
        return;
      }
      threads_.emplace_back([path, responder] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (path == "/stream") {
          responder->StartStream({.content_type = "text/event-stream", .body = "data: 1\n\n"});
          responder->Write("data: 2\n\n");
          responder->Write("data: 3\n\n");
          responder->End();
        } else {
          responder->Respond({.body = "later " + path});
        }
      });
    };
  }

  std::shared_ptr<HttpResponder> held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_;
  }
  absl::Notification& gone() { return gone_; }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::shared_ptr<HttpResponder> held_;
  absl::Notification gone_;
};

std::unique_ptr<HttpServer> Start(LaterHandler& later) {
  auto server = HttpServer::Start({.host = "127.0.0.1", .num_threads = 2}, later.handler());
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Sends GET /hold on a new connection and waits until the handler holds its responder; the fd.
int Hold(const HttpServer& server, LaterHandler& later) {
  const int fd = ConnectLoopback(server.port());
  EXPECT_GE(fd, 0);
  const std::string request = "GET /hold HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  for (int i = 0; i < 200 && later.held() == nullptr; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(later.held(), nullptr);
  return fd;
}

TEST(HttpStreamingTest, AnAnswerFromAnotherThreadArrives) {
  LaterHandler later;
  auto server = Start(later);
  ASSERT_NE(server, nullptr);
  const std::string response = HttpGet(server->port(), "/a");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\nlater /a"));
}

TEST(HttpStreamingTest, AStreamIsChunkedAndTheConnectionServesTheNextRequest) {
  LaterHandler later;
  auto server = Start(later);
  ASSERT_NE(server, nullptr);
  const std::string response =
      LoopbackExchange(server->port(),
                       "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n"
                       "GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Transfer-Encoding: chunked\r\n"));
  EXPECT_THAT(response,
              HasSubstr("9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n9\r\ndata: 3\n\n\r\n0\r\n\r\n"));
  EXPECT_THAT(response, HasSubstr("later /next"));
}

TEST(HttpStreamingTest, AnHttp10StreamEndsWithTheConnection) {
  LaterHandler later;
  auto server = Start(later);
  ASSERT_NE(server, nullptr);
  const std::string response = HttpGet(server->port(), "/stream");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, ::testing::Not(HasSubstr("chunked")));
  EXPECT_THAT(response, ::testing::EndsWith("\r\n\r\ndata: 1\n\ndata: 2\n\ndata: 3\n\n"));
}

TEST(HttpStreamingTest, AClientThatLeavesIsNoticedAtOnceAndLaterWritesAreRefused) {
  LaterHandler later;
  auto server = Start(later);
  ASSERT_NE(server, nullptr);
  const int fd = Hold(*server, later);
  ASSERT_NE(later.held(), nullptr);
  EXPECT_FALSE(later.held()->client_gone());
  close(fd);  // before any answer
  EXPECT_TRUE(later.gone().WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(later.held()->client_gone());
  EXPECT_FALSE(later.held()->Write("x"));
  later.held()->Respond({.body = "too late"});  // dropped, no crash
  // A callback set after the client left runs at once.
  bool ran = false;
  later.held()->OnClientGone([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(HttpStreamingTest, ResponderCallsAfterTheServerStoppedDoNothing) {
  LaterHandler later;
  auto server = Start(later);
  ASSERT_NE(server, nullptr);
  const int fd = Hold(*server, later);
  ASSERT_NE(later.held(), nullptr);
  server.reset();
  // The stop told the producer its client is gone.
  EXPECT_TRUE(later.gone().HasBeenNotified());
  later.held()->StartStream({});
  later.held()->Write("x");
  later.held()->End();
  close(fd);
}

TEST(HttpStreamingTest, ClosingTheListenerKeepsOpenConnectionsServed) {
  LaterHandler later;
  auto server = Start(later);
  ASSERT_NE(server, nullptr);
  const int fd = ConnectLoopback(server->port());
  ASSERT_GE(fd, 0);
  server->CloseListener();
  EXPECT_EQ(ConnectLoopback(server->port()), -1);
  const std::string request = "GET /open HTTP/1.0\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  char buf[512];
  std::string response;
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_THAT(response, HasSubstr("later /open"));
}

}  // namespace
}  // namespace egmla
