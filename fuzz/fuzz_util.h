// Helpers shared by the fuzz targets (fuzz/*_fuzz.cc).
#ifndef EGMLA_FUZZ_FUZZ_UTIL_H_
#define EGMLA_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace egmla::fuzz {

// A broken invariant: print it and abort, which libFuzzer records as a crash (with the input)
// and which fails a replay test.
[[noreturn]] inline void Fail(const char* file, int line, const char* condition,
                              std::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n  %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

#define EGMLA_FUZZ_CHECK(condition, detail)                                        \
  do {                                                                             \
    if (!(condition)) ::egmla::fuzz::Fail(__FILE__, __LINE__, #condition, detail); \
  } while (false)

// An error status must be one of `codes` and carry a message (errors name what is wrong).
inline void CheckError(const absl::Status& status, std::initializer_list<absl::StatusCode> codes,
                       const char* file, int line) {
  if (status.ok()) Fail(file, line, "!status.ok()", "expected an error");
  bool allowed = false;
  for (absl::StatusCode code : codes) allowed = allowed || status.code() == code;
  if (!allowed) Fail(file, line, "status code allowed", status.ToString());
  if (status.message().empty()) Fail(file, line, "!status.message().empty()", status.ToString());
}
#define EGMLA_FUZZ_CHECK_ERROR(status, ...) \
  ::egmla::fuzz::CheckError((status), {__VA_ARGS__}, __FILE__, __LINE__)

// The content of tests/data/<relative_path>; aborts when it cannot be read (a broken setup, not
// a finding).
inline std::string ReadTestData(const std::string& relative_path) {
  const std::string path = std::string(EGMLA_TEST_DATA_DIR) + "/" + relative_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace egmla::fuzz

#endif  // EGMLA_FUZZ_FUZZ_UTIL_H_
