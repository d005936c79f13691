// Reading what the PyTorch reference wrote for a golden checkpoint (python/egmla_ref/golden.py):
// variants.json, prompt.json and logits.f32. For the golden tests only.
#ifndef EGMLA_TESTS_GOLDEN_GOLDEN_FILES_H_
#define EGMLA_TESTS_GOLDEN_GOLDEN_FILES_H_

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace egmla::golden {

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A file of raw little-endian float32 values.
inline std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string s = bytes.str();
  std::vector<float> v(s.size() / sizeof(float));
  std::memcpy(v.data(), s.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace egmla::golden

#endif  // EGMLA_TESTS_GOLDEN_GOLDEN_FILES_H_
