// Opening files that start-up reads (config.json, checkpoints, tokenizers, key and prompt files)
// without ever blocking: a FIFO, a directory, a socket or a device in their place is refused with
// a message that names the path and says what it is, instead of hanging in open(2) (a FIFO with
// no writer) or reading nonsense.
//
// The file is opened O_NONBLOCK and only then fstat()ed, so the check is on the very file that
// is read (a stat() before open() would race with a rename). O_NONBLOCK is cleared once the file
// is known to be regular.
#ifndef EGMLA_COMMON_REGULAR_FILE_H_
#define EGMLA_COMMON_REGULAR_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace egmla {

// An open, read-only regular file; owns its descriptor. Move-only.
class RegularFile {
 public:
  // Takes ownership of `fd`.
  RegularFile(int fd, size_t size) : fd_(fd), size_(size) {}
  RegularFile(RegularFile&& other) noexcept;
  RegularFile& operator=(RegularFile&& other) noexcept;
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;
  ~RegularFile();

  int fd() const { return fd_; }
  size_t size() const { return size_; }  // st_size when opened

 private:
  int fd_ = -1;
  size_t size_ = 0;
};

// Errors, each naming `path`: NOT_FOUND when nothing is there; INVALID_ARGUMENT when it is not a
// regular file ("is a FIFO", "is a directory", "is a dangling symbolic link", ...);
// PERMISSION_DENIED; INVALID_ARGUMENT with the system's reason for any other failure.
absl::StatusOr<RegularFile> OpenRegularFile(const std::string& path);

// The whole content of the regular file at `path` (read to end of file, whatever st_size said).
// Errors as OpenRegularFile, plus INVALID_ARGUMENT when a read fails.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path);

}  // namespace egmla

#endif  // EGMLA_COMMON_REGULAR_FILE_H_
