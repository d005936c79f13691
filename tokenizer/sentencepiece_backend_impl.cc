// libegmla_sentencepiece.so: the only file that includes sentencepiece_processor.h; see
// sentencepiece_backend.h for why it is a separate, locally loaded shared object.
#include <sentencepiece_processor.h>

#include "tokenizer/sentencepiece_backend.h"

namespace egmla::sentencepiece_backend {
namespace {

class ProcessorImpl : public Processor {
 public:
  bool LoadSerialized(std::string_view model_bytes, std::string* error) {
    const sentencepiece::util::Status status = processor_.LoadFromSerializedProto(model_bytes);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
  bool Encode(std::string_view text, std::vector<int>* ids, std::string* error) const override {
    const sentencepiece::util::Status status = processor_.Encode(text, ids);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
  bool Decode(const std::vector<int>& ids, std::string* text, std::string* error) const override {
    const sentencepiece::util::Status status = processor_.Decode(ids, text);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
  int piece_size() const override { return processor_.GetPieceSize(); }
  const std::string& IdToPiece(int id) const override { return processor_.IdToPiece(id); }
  int PieceToId(std::string_view piece) const override { return processor_.PieceToId(piece); }
  int unk_id() const override { return processor_.unk_id(); }
  bool IsControl(int id) const override { return processor_.IsControl(id); }
  bool IsUnknown(int id) const override { return processor_.IsUnknown(id); }
  bool IsByte(int id) const override { return processor_.IsByte(id); }

 private:
  sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace
}  // namespace egmla::sentencepiece_backend

extern "C" __attribute__((visibility("default"))) egmla::sentencepiece_backend::Processor*
egmla_sentencepiece_load_serialized(const char* data, size_t size, std::string* error) {
  auto processor = std::make_unique<egmla::sentencepiece_backend::ProcessorImpl>();
  if (!processor->LoadSerialized(std::string_view(data, size), error)) return nullptr;
  return processor.release();
}
