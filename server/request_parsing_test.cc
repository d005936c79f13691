#include "server/request_parsing.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

using ::testing::HasSubstr;

// A length-delimited field (wire type 2) with a one-byte length.
std::string Field(int number, const std::string& payload) {
  return std::string{static_cast<char>(number << 3 | 2), static_cast<char>(payload.size())} +
         payload;
}

TEST(RequestParsingTest, AValidRequestParsesAsTheRealMessage) {
  v1::GenerateRequest want;
  want.set_request_id("r-é");
  want.set_text("héllo");
  want.mutable_stopping()->add_stop_sequences("\n\n");
  want.mutable_sampling()->set_temperature(0.5f);
  absl::StatusOr<v1::GenerateRequest> got = ParseGenerateRequest(want.SerializeAsString());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), want.SerializeAsString());
  EXPECT_TRUE(ParseGenerateRequest("").ok());  // all defaults; validation says what is missing
}

TEST(RequestParsingTest, InvalidUtf8NamesTheFieldAndTheOffset) {
  const std::string ids = Field(3, "\x08\x05");
  struct Case {
    std::string bytes;
    std::string message;
  };
  for (const Case& c : {
           Case{Field(2, "ab\xff"), "text: not valid UTF-8 (bad byte at offset 2)"},
           Case{Field(1, "\xc3") + ids, "request_id: not valid UTF-8 (bad byte at offset 0)"},
           Case{ids + Field(5, Field(4, "ok") + Field(4, "\xe2\x82")),
                "stopping.stop_sequences[1]: not valid UTF-8"},
       }) {
    absl::StatusOr<v1::GenerateRequest> got = ParseGenerateRequest(c.bytes);
    ASSERT_FALSE(got.ok()) << c.message;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr(c.message));
  }
  absl::StatusOr<v1::AbortRequest> abort = ParseAbortRequest(Field(1, "\xff"));
  ASSERT_FALSE(abort.ok());
  EXPECT_THAT(abort.status().message(), HasSubstr("request_id: not valid UTF-8"));
}

TEST(RequestParsingTest, TruncatedOrForeignBytesAreInvalidArgument) {
  for (const std::string& bytes :
       {std::string("\x12\x10"
                    "abc"),
        std::string("\x1a\x05\x08"), std::string("\xff"), std::string("\x2a\x01\x22")}) {
    absl::StatusOr<v1::GenerateRequest> got = ParseGenerateRequest(bytes);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr("not a valid egmla.v1.GenerateRequest"));
  }
  EXPECT_FALSE(ParseAbortRequest("\x0a\x09"
                                 "abc")
                   .ok());
}

TEST(RequestParsingTest, BufferBytesAndToBufferRoundTrip) {
  v1::AbortRequest request;
  request.set_request_id("abc");
  EXPECT_EQ(BufferBytes(ToBuffer(request)), request.SerializeAsString());
}

}  // namespace
}  // namespace egmla
