// Test helper: a fresh directory under the test's temporary directory, removed with everything in
// it when the object goes.
#ifndef EGMLA_COMMON_SCOPED_TEMP_DIR_H_
#define EGMLA_COMMON_SCOPED_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace egmla::testing {

class ScopedTempDir {
 public:
  // Creates TempDir()/`prefix`_XXXXXX; a failure fails the test.
  explicit ScopedTempDir(const std::string& prefix) {
    std::string pattern = ::testing::TempDir() + "/" + prefix + "_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    path_ = pattern;
  }
  ~ScopedTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace egmla::testing

#endif  // EGMLA_COMMON_SCOPED_TEMP_DIR_H_
