#include "model/safetensors.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "common/scoped_temp_dir.h"
#include "common/test_fifo.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes a raw safetensors file: little-endian header length, header text, data bytes.
  std::string WriteRaw(const std::string& name, const std::string& header, size_t data_bytes) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    bytes += header;
    bytes.append(data_bytes, '\x01');
    return WriteBytes(name, bytes);
  }

  std::string WriteBytes(const std::string& name, const std::string& bytes) {
    std::string path = Path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  egmla::testing::ScopedTempDir tmp_{"egmla_safetensors"};
  const std::string dir_ = tmp_.path();
};

TEST_F(SafetensorsTest, WriteThenReadBack) {
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f};
  std::vector<uint16_t> bf16 = {F32ToBf16(1.0f), F32ToBf16(-3.5f), F32ToBf16(0.25f)};
  std::vector<uint16_t> f16 = {F32ToF16(0.5f), F32ToF16(-1024.0f), F32ToF16(2.0f), F32ToF16(8.0f)};
  std::vector<int32_t> i32 = {7, -8, 9};
  const std::string path = Path("model.safetensors");
  absl::Status written = WriteSafetensors(path, {{"w.f32", {f32.data(), DType::kF32, {2, 3}}},
                                                 {"b.bf16", {bf16.data(), DType::kBF16, {3}}},
                                                 {"h.f16", {f16.data(), DType::kF16, {2, 2}}},
                                                 {"empty", {nullptr, DType::kF32, {0, 5}}},
                                                 {"ids", {i32.data(), DType::kI32, {3}}}});
  ASSERT_TRUE(written.ok()) << written;

  // The data section starts 8-byte aligned.
  std::string raw = ReadBytes(path);
  uint64_t header_size = 0;
  std::memcpy(&header_size, raw.data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u);
  EXPECT_THAT(raw.substr(8, header_size), HasSubstr("\"BF16\""));

  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->path(), path);
  const auto& tensors = (*file)->tensors();
  ASSERT_EQ(tensors.size(), 5u);

  const TensorView& w = tensors.at("w.f32");
  EXPECT_EQ(w.dtype, DType::kF32);
  EXPECT_EQ(w.shape, (Shape{2, 3}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data) % 8, 0u);
  EXPECT_EQ(std::memcmp(w.data, f32.data(), f32.size() * 4), 0);

  const TensorView& b = tensors.at("b.bf16");
  EXPECT_EQ(b.dtype, DType::kBF16);
  EXPECT_EQ(b.shape, (Shape{3}));
  std::vector<float> converted(3);
  ConvertToF32(b.data, b.dtype, 3, converted.data());
  EXPECT_THAT(converted, ::testing::ElementsAre(1.0f, -3.5f, 0.25f));

  const TensorView& h = tensors.at("h.f16");
  EXPECT_EQ(h.dtype, DType::kF16);
  EXPECT_EQ(h.shape, (Shape{2, 2}));
  converted.resize(4);
  ConvertToF32(h.data, h.dtype, 4, converted.data());
  EXPECT_THAT(converted, ::testing::ElementsAre(0.5f, -1024.0f, 2.0f, 8.0f));

  EXPECT_EQ(tensors.at("empty").shape, (Shape{0, 5}));
  EXPECT_EQ(tensors.at("empty").num_bytes(), 0u);
  EXPECT_EQ(tensors.at("ids").dtype, DType::kI32);
  EXPECT_EQ(std::memcmp(tensors.at("ids").data, i32.data(), 12), 0);
}

TEST_F(SafetensorsTest, MetadataIsSkipped) {
  std::string path = WriteRaw("meta.safetensors",
                              R"({"__metadata__": {"format": "pt"},
                                  "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                              8);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->tensors().size(), 1u);
  EXPECT_TRUE((*file)->tensors().contains("x"));
}

TEST_F(SafetensorsTest, TilingWithEmptyTensorsAndMetadataDuplicatesIsAccepted) {
  // Empty tensors may sit anywhere on the boundaries; __metadata__'s content is not checked.
  std::string path = WriteRaw("tiled.safetensors",
                              R"({"__metadata__": {"format": "pt", "format": "pt"},
                                  "e0": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},
                                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                                  "e4": {"dtype": "F16", "shape": [0, 3], "data_offsets": [4, 4]},
                                  "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                  "e8": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}})",
                              8);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->tensors().size(), 5u);
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open(Path("absent.safetensors"));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr("absent.safetensors"));
}

TEST_F(SafetensorsTest, ShortFileAndOversizedHeaderLength) {
  std::string path = WriteBytes("short.safetensors", std::string("\x10\x00\x00", 3));
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr(path));
  EXPECT_THAT(file.status().message(), HasSubstr("truncated"));

  std::string huge(8, '\xff');
  path = WriteBytes("huge.safetensors", huge + "{}");
  file = SafetensorsFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr(path));
  EXPECT_THAT(file.status().message(), HasSubstr("header length"));
}

struct BadFile {
  std::string name;
  std::string header;
  size_t data_bytes;
  std::vector<std::string> expected;  // substrings of the message besides the file path
};

// Keeps failure messages readable (gtest would otherwise dump the struct's bytes).
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.name; }

class BadSafetensorsTest : public SafetensorsTest, public ::testing::WithParamInterface<BadFile> {};

TEST_P(BadSafetensorsTest, ErrorNamesCulprit) {
  const BadFile& bad = GetParam();
  std::string path = WriteRaw(bad.name + ".safetensors", bad.header, bad.data_bytes);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr(path));
  for (const std::string& s : bad.expected) EXPECT_THAT(file.status().message(), HasSubstr(s));
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, BadSafetensorsTest,
    ::testing::Values(
        BadFile{"NotJson", "{\"x\": ", 0, {"malformed header", "not valid JSON"}},
        BadFile{"NotObject", "[1, 2]", 0, {"malformed header", "object"}},
        BadFile{"EntryNotObject", R"({"wq": 3})", 0, {"'wq'", "object"}},
        BadFile{
            "NoDtype", R"({"wq": {"shape": [1], "data_offsets": [0, 4]}})", 4, {"'wq'", "dtype"}},
        BadFile{
            "NoShape", R"({"wq": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, {"'wq'", "shape"}},
        BadFile{
            "NoOffsets", R"({"wq": {"dtype": "F32", "shape": [1]}})", 4, {"'wq'", "data_offsets"}},
        BadFile{"F64",
                R"({"wq": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})",
                8,
                {"tensor 'wq' has dtype F64; supported: F32, BF16, F16, I32"}},
        BadFile{"DtypeInt",
                R"({"wq": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})",
                4,
                {"'wq'", "dtype"}},
        BadFile{"NegativeDim",
                R"({"wq": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 0]}})",
                0,
                {"'wq'", "non-negative", "-1"}},
        BadFile{"FloatDim",
                R"({"wq": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})",
                4,
                {"'wq'", "shape"}},
        BadFile{"HugeShape",
                R"({"wq": {"dtype": "F32", "shape": [4294967296, 4294967296, 0],
                           "data_offsets": [0, 0]}})",
                0,
                {"'wq'", "too large"}},
        BadFile{"OffsetsTriple",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})",
                8,
                {"'wq'", "data_offsets"}},
        BadFile{"OffsetsReversed",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})",
                8,
                {"'wq'", "begin <= end"}},
        BadFile{"OffsetsNegative",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})",
                8,
                {"'wq'", "data_offsets"}},
        BadFile{"SizeMismatch",
                R"({"wq": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 20]}})",
                20,
                {"'wq'", "[2, 3]", "BF16", "12 bytes", "20 bytes"}},
        BadFile{"PastEnd",
                R"({"wq": {"dtype": "F32", "shape": [4], "data_offsets": [4, 20]}})",
                16,
                {"truncated", "'wq'"}},
        // nlohmann::json keeps one of two equal keys silently; the file is ambiguous.
        BadFile{"DuplicateTensor",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "wk": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                    "wq": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                8,
                {"malformed header", "key 'wq' appears twice"}},
        BadFile{"DuplicateEntryKey",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4],
                           "data_offsets": [4, 8]}})",
                8,
                {"the entry of tensor 'wq' has key 'data_offsets' twice"}},
        BadFile{"DuplicateMetadata",
                R"({"__metadata__": {}, "__metadata__": {},
                    "wq": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                4,
                {"key '__metadata__' appears twice"}},
        // Two tensors sharing bytes would alias each other's weights.
        BadFile{"Overlap",
                R"({"wq": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "wk": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                12,
                {"tensors 'wq' (data bytes [0, 8)) and 'wk' (data bytes [4, 12)) overlap"}},
        BadFile{"SameRange",
                R"({"wq": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "wk": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}})",
                8,
                {"'wq'", "'wk'", "overlap"}},
        // Bytes no tensor owns: safetensors' reference implementation refuses them too.
        BadFile{"TrailingBytes",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                10,
                {"the last 6 bytes of the data section (data bytes [4, 10)) belong to no tensor"}},
        BadFile{"Gap",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "wk": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                12,
                {"data bytes [4, 8) belong to no tensor (a gap before tensor 'wk')"}},
        BadFile{"GapAtStart",
                R"({"wq": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                8,
                {"data bytes [0, 4) belong to no tensor (a gap before tensor 'wq')"}},
        BadFile{"NoTensorsButData", R"({"__metadata__": {}})", 3, {"the last 3 bytes"}}),
    [](const ::testing::TestParamInfo<BadFile>& info) { return info.param.name; });

TEST_F(SafetensorsTest, TruncatedAnywhereGivesError) {
  std::vector<float> a(10, 1.0f);
  std::vector<uint16_t> b(7, 2);
  const std::string path = Path("full.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"a", {a.data(), DType::kF32, {2, 5}}},
                                      {"b", {b.data(), DType::kBF16, {7}}}})
                  .ok());
  const std::string raw = ReadBytes(path);
  for (size_t cut = 0; cut < raw.size(); ++cut) {
    std::string cut_path = WriteBytes("cut.safetensors", raw.substr(0, cut));
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(cut_path);
    ASSERT_FALSE(file.ok()) << "cut at " << cut;
    EXPECT_THAT(file.status().message(), HasSubstr(cut_path));
    EXPECT_THAT(file.status().message(), AnyOf(HasSubstr("truncated"), HasSubstr("malformed")))
        << "cut at " << cut << ": " << file.status();
  }
}

TEST_F(SafetensorsTest, MutatedBytesNeverCrash) {
  std::vector<float> a(6, 1.0f);
  const std::string path = Path("orig.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"a", {a.data(), DType::kF32, {2, 3}}}}).ok());
  const std::string raw = ReadBytes(path);
  std::mt19937 rng(1234);
  const char kBytes[] = "0123456789-[]{}\",:. eE\xff\x00";
  for (int trial = 0; trial < 2000; ++trial) {
    std::string mutated = raw;
    for (int k = 0; k < 1 + trial % 4; ++k) {
      mutated[rng() % mutated.size()] = kBytes[rng() % (sizeof(kBytes) - 1)];
    }
    std::string mutated_path = WriteBytes("mutated.safetensors", mutated);
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(mutated_path);
    if (!file.ok()) {
      EXPECT_THAT(file.status().message(), HasSubstr(mutated_path));
    }
  }
}

TEST_F(SafetensorsTest, WriteToBadPathNamesIt) {
  float x = 1.0f;
  const std::string path = Path("no/such/dir/model.safetensors");
  absl::Status status = WriteSafetensors(path, {{"x", {&x, DType::kF32, {1}}}});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(path));
  status = WriteSafetensors(Path("dup.safetensors"),
                            {{"x", {&x, DType::kF32, {1}}}, {"x", {&x, DType::kF32, {1}}}});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("'x'"));
}

class CheckpointTest : public SafetensorsTest {
 protected:
  void WriteShard(const std::string& name, const std::vector<std::string>& tensor_names) {
    std::vector<std::pair<std::string, TensorView>> tensors;
    for (const std::string& t : tensor_names) {
      tensors.push_back({t, {values_.data(), DType::kF32, {2}}});
    }
    ASSERT_TRUE(WriteSafetensors(Path(name), tensors).ok());
  }
  void WriteIndex(const std::string& text) { WriteBytes("model.safetensors.index.json", text); }
  std::vector<float> values_ = {3.0f, 4.0f};
};

TEST_F(CheckpointTest, SingleFile) {
  WriteShard("model.safetensors", {"a", "b"});
  absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_EQ(ckpt->tensors().size(), 2u);
  EXPECT_EQ(static_cast<const float*>(ckpt->tensors().at("b").data)[1], 4.0f);
}

TEST_F(CheckpointTest, ShardsViaIndex) {
  WriteShard("model-00001-of-00002.safetensors", {"a", "b"});
  WriteShard("model-00002-of-00002.safetensors", {"c"});
  WriteIndex(R"({"metadata": {"total_size": 24}, "weight_map": {
      "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
      "c": "model-00002-of-00002.safetensors"}})");
  absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ASSERT_EQ(ckpt->tensors().size(), 3u);
  EXPECT_EQ(static_cast<const float*>(ckpt->tensors().at("c").data)[0], 3.0f);
  // Moving the checkpoint keeps the views valid.
  CheckpointTensors moved = *std::move(ckpt);
  EXPECT_EQ(static_cast<const float*>(moved.tensors().at("a").data)[1], 4.0f);
}

TEST_F(CheckpointTest, IndexNamesTensorShardLacks) {
  WriteShard("s1.safetensors", {"a"});
  WriteIndex(R"({"weight_map": {"a": "s1.safetensors", "ghost": "s1.safetensors"}})");
  absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_THAT(ckpt.status().message(), HasSubstr("'ghost'"));
  EXPECT_THAT(ckpt.status().message(), HasSubstr("s1.safetensors"));
}

TEST_F(CheckpointTest, TensorInTwoShards) {
  WriteShard("s1.safetensors", {"a", "dup"});
  WriteShard("s2.safetensors", {"dup"});
  WriteIndex(R"({"weight_map": {"a": "s1.safetensors", "dup": "s2.safetensors"}})");
  absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_THAT(ckpt.status().message(), HasSubstr("'dup'"));
  EXPECT_THAT(ckpt.status().message(), HasSubstr("two shards"));
}

TEST_F(CheckpointTest, MissingShard) {
  WriteIndex(R"({"weight_map": {"a": "gone.safetensors"}})");
  absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_EQ(ckpt.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ckpt.status().message(), HasSubstr("gone.safetensors"));
}

TEST_F(CheckpointTest, BadIndex) {
  for (const char* text : {"{", "[]", R"({"weight_map": 3})", R"({"weight_map": {"a": 5}})"}) {
    WriteIndex(text);
    absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
    ASSERT_FALSE(ckpt.ok()) << text;
    EXPECT_EQ(ckpt.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ckpt.status().message(), HasSubstr("model.safetensors.index.json")) << text;
  }
}

TEST_F(CheckpointTest, ShardNamesThatArePathsAreRefusedNamingThem) {
  for (const char* shard : {"../outside.safetensors", "/etc/passwd", "sub/s.safetensors", ".."}) {
    WriteIndex(std::string(R"({"weight_map": {"a": ")") + shard + R"("}})");
    absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
    ASSERT_FALSE(ckpt.ok()) << shard;
    EXPECT_EQ(ckpt.status().code(), absl::StatusCode::kInvalidArgument) << shard;
    EXPECT_THAT(ckpt.status().message(), HasSubstr(shard));
    EXPECT_THAT(ckpt.status().message(), HasSubstr("file name in the model's directory"));
  }
}

// A FIFO nobody writes to used to block start-up forever in open(2); a directory or a dangling
// symbolic link is named for what it is.
TEST_F(CheckpointTest, FifoDirectoryOrDanglingLinkIsRefusedNamingIt) {
  const std::string single = Path("model.safetensors");
  ASSERT_TRUE(testing::MakeFifo(single));
  absl::StatusOr<CheckpointTensors> ckpt =
      testing::CallUnblockingFifo(single, [&] { return CheckpointTensors::Open(dir_); });
  ASSERT_FALSE(ckpt.ok());
  EXPECT_EQ(ckpt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ckpt.status().message(), HasSubstr(single + ": is a FIFO"));
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file =
      testing::CallUnblockingFifo(single, [&] { return SafetensorsFile::Open(single); });
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr(single + ": is a FIFO"));
  std::filesystem::remove(single);

  std::filesystem::create_directory(single);
  ckpt = CheckpointTensors::Open(dir_);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_THAT(ckpt.status().message(), HasSubstr(single + ": is a directory"));
  std::filesystem::remove(single);

  std::filesystem::create_symlink(Path("gone.safetensors"), single);
  ckpt = CheckpointTensors::Open(dir_);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_THAT(ckpt.status().message(), HasSubstr(single + ": is a dangling symbolic link"));
}

TEST_F(CheckpointTest, FifoIndexOrShardIsRefused) {
  const std::string index = Path("model.safetensors.index.json");
  ASSERT_TRUE(testing::MakeFifo(index));
  absl::StatusOr<CheckpointTensors> ckpt =
      testing::CallUnblockingFifo(index, [&] { return CheckpointTensors::Open(dir_); });
  ASSERT_FALSE(ckpt.ok());
  EXPECT_THAT(ckpt.status().message(), HasSubstr(index + ": is a FIFO"));
  std::filesystem::remove(index);

  WriteIndex(R"({"weight_map": {"a": "shard.safetensors"}})");
  const std::string shard = Path("shard.safetensors");
  ASSERT_TRUE(testing::MakeFifo(shard));
  ckpt = testing::CallUnblockingFifo(shard, [&] { return CheckpointTensors::Open(dir_); });
  ASSERT_FALSE(ckpt.ok());
  EXPECT_THAT(ckpt.status().message(), HasSubstr(shard + ": is a FIFO"));
}

TEST_F(CheckpointTest, NeitherFileIsNotFound) {
  absl::StatusOr<CheckpointTensors> ckpt = CheckpointTensors::Open(dir_);
  ASSERT_FALSE(ckpt.ok());
  EXPECT_EQ(ckpt.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ckpt.status().message(), HasSubstr(dir_));
}

}  // namespace
}  // namespace egmla
