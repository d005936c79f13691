#include "common/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace egmla {
namespace {

// What a non-regular file is, for "PATH: is a FIFO (named pipe), not a regular file".
const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

absl::Status NotRegular(const std::string& path, mode_t mode) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": is ", KindOf(mode), ", not a regular file"));
}

// Why open(2) failed with `error`. The stat calls here only word the message: the file is not
// read, so a race with a concurrent rename cannot make a bad file pass.
absl::Status OpenError(const std::string& path, int error) {
  struct stat st;
  if (error == ENOENT) {
    if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      char target[512];
      const ssize_t n = readlink(path.c_str(), target, sizeof(target));
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": is a dangling symbolic link (to '",
                       n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string("?"),
                       "', which does not exist)"));
    }
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for reading: ", std::strerror(error)));
  }
  // ENXIO: a socket (or a device without its driver) cannot be opened at all.
  if (error == ENXIO && stat(path.c_str(), &st) == 0) return NotRegular(path, st.st_mode);
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": cannot open for reading: ", std::strerror(error)));
}

// Refuses anything but a regular file, then makes reads blocking again.
absl::Status CheckRegular(const std::string& path, int fd, size_t* size) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": fstat failed: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode);
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": fcntl failed: ", std::strerror(errno)));
  }
  *size = static_cast<size_t>(st.st_size);
  return absl::OkStatus();
}

}  // namespace

RegularFile::RegularFile(RegularFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

RegularFile& RegularFile::operator=(RegularFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<RegularFile> OpenRegularFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  // O_NOCTTY: a terminal device must not become our controlling terminal.
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return OpenError(path, errno);
  size_t size = 0;
  const absl::Status checked = CheckRegular(path, fd, &size);
  if (!checked.ok()) {
    close(fd);
    return checked;
  }
  return RegularFile(fd, size);
}

absl::StatusOr<std::string> ReadRegularFile(const std::string& path) {
  absl::StatusOr<RegularFile> file = OpenRegularFile(path);
  if (!file.ok()) return file.status();
  std::string text;
  // st_size is only a hint (it may change, or be 0 for a /proc file); reserving a huge one up
  // front would throw before reading a byte.
  text.reserve(std::min<size_t>(file->size(), size_t{64} << 20));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = read(file->fd(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": read failed: ", std::strerror(errno)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace egmla
