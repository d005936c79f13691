// The client subcommands against a port where nothing listens.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/commands.h"

namespace egmla::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::internal::CaptureStderr;
using ::testing::internal::GetCapturedStderr;

// A loopback port that was free a moment ago: bound to port 0, then closed.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot get a free port";
  }
  close(fd);
  return ntohs(addr.sin_port);
}

ClientOptions NothingListening() {
  return {.server = absl::StrCat("127.0.0.1:", FreePort()), .timeout_seconds = 5.0};
}

TEST(ClientNoServerTest, HealthIsUnavailable) {
  CaptureStderr();
  EXPECT_EQ(Health({.client = NothingListening()}), 1);
  EXPECT_THAT(GetCapturedStderr(), HasSubstr("egmla health: UNAVAILABLE: "));
}

TEST(ClientNoServerTest, LivenessIsUnavailable) {
  CaptureStderr();
  EXPECT_EQ(Health({.client = NothingListening(), .service = ""}), 1);
  EXPECT_THAT(GetCapturedStderr(), HasSubstr("UNAVAILABLE"));
}

TEST(ClientNoServerTest, InfoLoadGenerateAreUnavailable) {
  CaptureStderr();
  EXPECT_EQ(Info(NothingListening()), 1);
  EXPECT_EQ(Load(NothingListening()), 1);
  EXPECT_EQ(Generate({.client = NothingListening(), .token_ids = "1,2"}), 1);
  EXPECT_EQ(Generate({.client = NothingListening(), .text = "hi", .json = true}), 1);
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("egmla info: UNAVAILABLE: "));
  EXPECT_THAT(err, HasSubstr("egmla load: UNAVAILABLE: "));
  EXPECT_THAT(err, HasSubstr("egmla generate: UNAVAILABLE: "));
}

TEST(ClientNoServerTest, UsageErrorsExit2BeforeAnyCall) {
  CaptureStderr();
  EXPECT_EQ(Generate({.client = NothingListening()}), 2);
  ClientOptions missing_key = NothingListening();
  missing_key.api_key_file = "/nonexistent/key";
  EXPECT_EQ(Info(missing_key), 2);
  ClientOptions missing_ca = NothingListening();
  missing_ca.tls_ca = "/nonexistent/ca.pem";
  EXPECT_EQ(Health({.client = missing_ca}), 2);
  ClientOptions bad_timeout = NothingListening();
  bad_timeout.timeout_seconds = -1;
  EXPECT_EQ(Load(bad_timeout), 2);
  const std::string err = GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("egmla generate: give the prompt"));
  EXPECT_THAT(err, HasSubstr("egmla info: --api-key-file: /nonexistent/key: no such file"));
  EXPECT_THAT(err, HasSubstr("egmla health: --tls-ca: /nonexistent/ca.pem: no such file"));
  EXPECT_THAT(err, HasSubstr("egmla load: --timeout"));
}

TEST(ClientNoServerTest, EmptyKeyFileIsAUsageError) {
  char path[] = "/tmp/egmla_key_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, " \n", 2), 2);
  close(fd);
  ClientOptions options = NothingListening();
  options.api_key_file = path;
  CaptureStderr();
  EXPECT_EQ(Info(options), 2);
  EXPECT_THAT(GetCapturedStderr(), HasSubstr("is empty"));
  unlink(path);
}

std::string WriteTempFile(const std::string& bytes) {
  char path[] = "/tmp/egmla_key_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  return path;
}

// gRPC aborts the process (SIGABRT) on a metadata value it cannot send; such a key must be a
// usage error when read. Run in a child: the old behaviour kills the process.
TEST(ClientNoServerTest, UnsendableKeyIsAUsageErrorNotAnAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string path = WriteTempFile("SECRET\nPART\n");
  ClientOptions options = NothingListening();
  options.api_key_file = path;
  EXPECT_EXIT(std::exit(Info(options)), ::testing::ExitedWithCode(2),
              "egmla info: --api-key-file: .*line break .0x0A. at byte offset 6");
  unlink(path.c_str());
}

TEST(ClientNoServerTest, DirectoryAsKeyFileIsNamedForWhatItIs) {
  ClientOptions options = NothingListening();
  options.api_key_file = "/tmp";
  CaptureStderr();
  EXPECT_EQ(Info(options), 2);
  EXPECT_THAT(GetCapturedStderr(),
              HasSubstr("egmla info: --api-key-file: /tmp: is a directory, not a regular file"));
}

}  // namespace
}  // namespace egmla::cli
