// Rules every kernel source keeps so that the SIMT emulator runs it as the GPU would (issue 16):
// no raw `__shared__` (on the host it expands to nothing and a block-scope array silently becomes
// per-thread: shared memory goes through kernels/cuda/shared_memory.h) and no `<<<...>>>` launch
// (kernels/cuda/launch.h is the one launch path, nvcc and emulator alike).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

std::vector<std::filesystem::path> KernelSources() {
  std::vector<std::filesystem::path> sources;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(EGMLA_KERNELS_DIR) + "/cuda")) {
    if (entry.path().extension() == ".cu" || entry.path().extension() == ".cuh") {
      sources.push_back(entry.path());
    }
  }
  return sources;
}

TEST(KernelSourcesTest, NoRawSharedMemoryAndNoChevronLaunches) {
  const std::vector<std::filesystem::path> sources = KernelSources();
  ASSERT_FALSE(sources.empty());
  for (const std::filesystem::path& path : sources) {
    std::ifstream in(path);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const std::string code = line.substr(0, line.find("//"));
      EXPECT_EQ(code.find("__shared__"), std::string::npos)
          << path << ":" << number << ": raw __shared__ (use egmla::cuda::SharedMemory<T>())";
      EXPECT_EQ(code.find("<<<"), std::string::npos)
          << path << ":" << number << ": <<< >>> launch (use egmla::cuda::Launch)";
    }
  }
}

}  // namespace
