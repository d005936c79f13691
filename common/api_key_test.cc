#include "common/api_key.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/scoped_temp_dir.h"
#include "common/test_fifo.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class ApiKeyTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    const std::string path = dir_ + "/key";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }

  egmla::testing::ScopedTempDir tmp_{"egmla_api_key"};
  const std::string dir_ = tmp_.path();
};

TEST_F(ApiKeyTest, SurroundingWhitespaceIsStripped) {
  absl::StatusOr<std::string> key = ReadApiKeyFile("--api-key-file", Write("  s3cret-KEY_~.+/=\n"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "s3cret-KEY_~.+/=");
  key = ReadApiKeyFile("--api-key-file", Write("\r\n\t\vkey\f\r\n"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "key");
}

TEST_F(ApiKeyTest, EmptyKeyIsRefused) {
  for (const char* bytes : {"", " \n\t\r\n"}) {
    const std::string path = Write(bytes);
    absl::StatusOr<std::string> key = ReadApiKeyFile("--api-key-file", path);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(key.status().message(), "--api-key-file: " + path + " is empty");
  }
}

// gRPC aborts the client on such a metadata value; the key must be refused when read instead,
// naming the flag, the file and the offset but never the key.
TEST_F(ApiKeyTest, UnsendableBytesAreRefusedWithTheirOffset) {
  struct Case {
    std::string bytes;
    std::string what;
    size_t offset;
  };
  for (const Case& c :
       {Case{"\nSECRET\nPART\n", "a line break (0x0A)", 7}, Case{"SECRET PART", "a space", 6},
        Case{"SECRET\tPART", "a control character (0x09)", 6},
        Case{"SECRET\x7fPART", "a control character (0x7F)", 6},
        Case{"  SECRET\xc3\xa9PART", "a non-ASCII byte", 8},
        Case{std::string("SECRET\0PART", 11), "a control character (0x00)", 6}}) {
    const std::string path = Write(c.bytes);
    absl::StatusOr<std::string> key = ReadApiKeyFile("--api-key-file", path);
    ASSERT_FALSE(key.ok()) << c.what;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(key.status().message(),
                AllOf(HasSubstr("--api-key-file: " + path), HasSubstr(c.what),
                      HasSubstr("byte offset " + std::to_string(c.offset)), HasSubstr("0x21..0x7E"),
                      Not(HasSubstr("SECRET")), Not(HasSubstr("PART"))));
  }
}

TEST_F(ApiKeyTest, DirectoryMissingFileAndFifoNameTheFlag) {
  absl::StatusOr<std::string> key = ReadApiKeyFile("--api-key-file", dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(),
              AllOf(HasSubstr("--api-key-file: " + dir_), HasSubstr("is a directory")));

  key = ReadApiKeyFile("--api-key-file", dir_ + "/absent");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(key.status().message(), HasSubstr("--api-key-file: " + dir_ + "/absent"));

  const std::string fifo = dir_ + "/fifo";
  ASSERT_TRUE(testing::MakeFifo(fifo));
  key = testing::CallUnblockingFifo(fifo, [&] { return ReadApiKeyFile("--api-key-file", fifo); });
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("is a FIFO"));
}

}  // namespace
}  // namespace egmla
