#include "server/metrics_endpoint.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/loopback_test_util.h"

namespace egmla {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server =
        HttpServer::Start({.host = "127.0.0.1", .port = 0}, MetricsHttpHandler(&metrics_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::string Get(const std::string& target, const std::string& method = "GET") {
    return HttpGet(server_->port(), target, method);
  }

  Metrics metrics_{[] {
    MetricsSnapshot s;
    s.engine.waiting = 5;
    return s;
  }};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(MetricsEndpointTest, GetMetricsServesTheExposition) {
  const std::string response = Get("/metrics");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(response, HasSubstr("# TYPE egmla_requests_waiting gauge\n"));
  EXPECT_THAT(response, HasSubstr("\negmla_requests_waiting 5\n"));
  EXPECT_THAT(Get("/metrics?name[]=x"), HasSubstr("\negmla_requests_waiting 5\n"));
}

TEST_F(MetricsEndpointTest, HeadMetricsHasNoBody) {
  const std::string response = Get("/metrics", "HEAD");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, EndsWith("\r\n\r\n"));
  EXPECT_THAT(response, Not(HasSubstr("egmla_")));
}

// These crashed the server when civetweb served /metrics (issue 12, fault 1).
TEST_F(MetricsEndpointTest, OtherPathsAre404AndOtherMethods405) {
  for (const char* path : {"/", "/healthz", "/favicon.ico", "/metricsx", "/metrics/"}) {
    EXPECT_THAT(Get(path), StartsWith("HTTP/1.0 404 Not Found\r\n")) << path;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"}) {
    const std::string response = Get("/metrics", method);
    EXPECT_THAT(response, StartsWith("HTTP/1.0 405 Method Not Allowed\r\n")) << method;
    EXPECT_THAT(response, HasSubstr("Allow: GET, HEAD\r\n")) << method;
  }
  EXPECT_THAT(Get("/", "OPTIONS"), StartsWith("HTTP/1.0 404"));
  EXPECT_THAT(Get("/metrics"), StartsWith("HTTP/1.0 200 OK\r\n"));
}

}  // namespace
}  // namespace egmla
