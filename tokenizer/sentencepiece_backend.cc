// Finds and loads libegmla_sentencepiece.so once (see sentencepiece_backend.h).
#include "tokenizer/sentencepiece_backend.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace egmla::sentencepiece_backend {
namespace {

constexpr char kLibrary[] = "libegmla_sentencepiece.so";
constexpr char kLoadSymbol[] = "egmla_sentencepiece_load_serialized";
// AddressSanitizer and ThreadSanitizer refuse RTLD_DEEPBIND; sanitizer builds then rely on the
// process not also holding libprotobuf (true of the unit tests they run; `make sanitize` and
// `make tsan` leave out the rest, and the fuzz targets that load SentencePiece link no protobuf).
// gcc defines __SANITIZE_ADDRESS__ and __SANITIZE_THREAD__; clang before 15 only answers
// __has_feature.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EGMLA_SANITIZER_NO_DEEPBIND 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    defined(EGMLA_SANITIZER_NO_DEEPBIND)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif
using LoadFunction = Processor* (*)(const char*, size_t, std::string*);

std::vector<std::string> Candidates() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("EGMLA_SENTENCEPIECE_BACKEND")) {
    dirs.push_back(std::filesystem::path(env).parent_path().string());
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().string());
    dirs.push_back((exe.parent_path().parent_path() / "lib").string());
  }
#ifdef EGMLA_SENTENCEPIECE_BACKEND_DIR
  dirs.push_back(EGMLA_SENTENCEPIECE_BACKEND_DIR);
#endif
  return dirs;
}

struct Backend {
  LoadFunction load = nullptr;
  std::string error;
};

const Backend& GetBackend() {
  static const Backend backend = [] {
    Backend b;
    std::string tried;
    for (const std::string& dir : Candidates()) {
      const std::string path = (std::filesystem::path(dir) / kLibrary).string();
      if (!std::filesystem::exists(path)) {
        tried += " " + path;
        continue;
      }
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
      if (handle == nullptr) {
        b.error = std::string("cannot load ") + path + ": " + dlerror();
        return b;
      }
      b.load = reinterpret_cast<LoadFunction>(dlsym(handle, kLoadSymbol));
      if (b.load == nullptr) b.error = path + " lacks " + kLoadSymbol;
      return b;  // never dlclose'd: processors' vtables live in it
    }
    b.error =
        std::string("the SentencePiece backend ") + kLibrary + " was not found; tried" + tried;
    return b;
  }();
  return backend;
}

}  // namespace

std::unique_ptr<Processor> LoadSerialized(std::string_view model_bytes, std::string* error) {
  const Backend& backend = GetBackend();
  if (backend.load == nullptr) {
    *error = backend.error;
    return nullptr;
  }
  return std::unique_ptr<Processor>(backend.load(model_bytes.data(), model_bytes.size(), error));
}

}  // namespace egmla::sentencepiece_backend
