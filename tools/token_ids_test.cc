#include "tools/token_ids.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla::cli {
namespace {

TEST(TokenIdsTest, ParsesCommasAndWhitespace) {
  EXPECT_THAT(*ParseTokenIds("1,2, 3\t4"), ::testing::ElementsAre(1, 2, 3, 4));
}

TEST(TokenIdsTest, NamesTheBadItem) {
  EXPECT_THAT(ParseTokenIds("1,x2,3").status().message(), ::testing::HasSubstr("'x2'"));
  EXPECT_THAT(ParseTokenIds("1,-2").status().message(), ::testing::HasSubstr("'-2'"));
  EXPECT_FALSE(ParseTokenIds(" , ").ok());
}

TEST(TokenIdsTest, RecognisesIdLines) {
  EXPECT_TRUE(IsTokenIdLine("1 2 3"));
  EXPECT_TRUE(IsTokenIdLine("4,5"));
  EXPECT_FALSE(IsTokenIdLine("In the beginning 1"));
  EXPECT_FALSE(IsTokenIdLine("  "));
}

}  // namespace
}  // namespace egmla::cli
