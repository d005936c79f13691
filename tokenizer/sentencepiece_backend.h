// A thin, std-only interface over Debian's libsentencepiece, which lives in its own shared object
// (libegmla_sentencepiece.so) loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece.so carries its own copy of protobuf-lite 3.14 and exports its
// symbols. Linked into a process that also links libprotobuf 3.21 (every binary with gRPC), the
// two copies interpose each other at load time and the process crashes before main (or aborts on
// the version check). Loaded locally with deep binding, libsentencepiece keeps to its own copy and
// hides it from the rest of the process. Its header also declares
// `namespace absl { using std::string_view; }`, which collides with Debian's Abseil, so only
// sentencepiece_backend_impl.cc includes it and this header names no absl type.
#ifndef EGMLA_TOKENIZER_SENTENCEPIECE_BACKEND_H_
#define EGMLA_TOKENIZER_SENTENCEPIECE_BACKEND_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace egmla::sentencepiece_backend {

class Processor {
 public:
  virtual ~Processor() = default;

  // False (with `*error` set) when the library refuses. Thread-safe.
  virtual bool Encode(std::string_view text, std::vector<int>* ids, std::string* error) const = 0;
  // The library's decoding of a whole sequence. REQUIRES: every id in [0, piece_size()).
  virtual bool Decode(const std::vector<int>& ids, std::string* text, std::string* error) const = 0;

  virtual int piece_size() const = 0;
  // REQUIRES: id in [0, piece_size()).
  virtual const std::string& IdToPiece(int id) const = 0;
  virtual int PieceToId(std::string_view piece) const = 0;  // unk_id() when absent
  virtual int unk_id() const = 0;
  virtual bool IsControl(int id) const = 0;
  virtual bool IsUnknown(int id) const = 0;
  virtual bool IsByte(int id) const = 0;
};

// Loads a model from the bytes of a `.model` file (the caller reads the file, so that a FIFO or a
// directory is refused before the library opens it: see common/regular_file.h). On failure
// returns nullptr and sets `*error` to the library's message, or to why the backend library could
// not be loaded (and where it was looked for: the directory of $EGMLA_SENTENCEPIECE_BACKEND if
// set, the running program's directory, ../lib beside it, and the build tree).
std::unique_ptr<Processor> LoadSerialized(std::string_view model_bytes, std::string* error);

}  // namespace egmla::sentencepiece_backend

// The one symbol libegmla_sentencepiece.so exports (C linkage: found with dlsym).
extern "C" egmla::sentencepiece_backend::Processor* egmla_sentencepiece_load_serialized(
    const char* data, size_t size, std::string* error);

#endif  // EGMLA_TOKENIZER_SENTENCEPIECE_BACKEND_H_
