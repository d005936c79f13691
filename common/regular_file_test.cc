#include "common/regular_file.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/scoped_temp_dir.h"
#include "common/test_fifo.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

class RegularFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Expects `path` refused with INVALID_ARGUMENT, a message naming it and containing `what`.
  static void ExpectRefused(const std::string& path, const std::string& what) {
    absl::StatusOr<std::string> text = ReadRegularFile(path);
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument) << text.status();
    EXPECT_THAT(text.status().message(), HasSubstr(path));
    EXPECT_THAT(text.status().message(), HasSubstr(what));
    EXPECT_FALSE(OpenRegularFile(path).ok());
  }

  egmla::testing::ScopedTempDir tmp_{"egmla_regular_file"};
  const std::string dir_ = tmp_.path();
};

TEST_F(RegularFileTest, ReadsARegularFileAndASymlinkToOne) {
  const std::string bytes("line one\n\0binary\xff", 17);
  std::ofstream(Path("file"), std::ios::binary) << bytes;
  absl::StatusOr<std::string> text = ReadRegularFile(Path("file"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, bytes);

  absl::StatusOr<RegularFile> file = OpenRegularFile(Path("file"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), bytes.size());
  char first = 0;
  EXPECT_EQ(read(file->fd(), &first, 1), 1);
  EXPECT_EQ(first, 'l');

  std::filesystem::create_symlink(Path("file"), Path("link"));
  text = ReadRegularFile(Path("link"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, bytes);
}

TEST_F(RegularFileTest, EmptyFileIsEmpty) {
  std::ofstream(Path("empty")).close();
  absl::StatusOr<std::string> text = ReadRegularFile(Path("empty"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "");
}

TEST_F(RegularFileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> text = ReadRegularFile(Path("absent"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(text.status().message(), HasSubstr(Path("absent") + ": no such file"));
}

// A FIFO with no writer: a blocking open would wait forever.
TEST_F(RegularFileTest, FifoIsRefusedAtOnce) {
  const std::string fifo = Path("fifo");
  ASSERT_TRUE(testing::MakeFifo(fifo));
  absl::StatusOr<std::string> text =
      testing::CallUnblockingFifo(fifo, [&] { return ReadRegularFile(fifo); });
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr(fifo + ": is a FIFO"));
  absl::StatusOr<RegularFile> file =
      testing::CallUnblockingFifo(fifo, [&] { return OpenRegularFile(fifo); });
  EXPECT_FALSE(file.ok());
}

TEST_F(RegularFileTest, DirectoryIsRefused) { ExpectRefused(dir_, "is a directory"); }

TEST_F(RegularFileTest, DanglingSymlinkIsRefusedNamingItsTarget) {
  std::filesystem::create_symlink(Path("gone"), Path("dangling"));
  ExpectRefused(Path("dangling"), "is a dangling symbolic link");
  ExpectRefused(Path("dangling"), Path("gone"));
}

TEST_F(RegularFileTest, SocketAndDeviceAreRefused) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string socket_path = Path("sock");
  ASSERT_LT(socket_path.size(), sizeof(address.sun_path));
  std::strcpy(address.sun_path, socket_path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ExpectRefused(socket_path, "is a socket");
  close(fd);
  ExpectRefused("/dev/null", "is a character device");
}

}  // namespace
}  // namespace egmla
