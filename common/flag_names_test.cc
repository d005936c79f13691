#include "common/flag_names.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(FlagNamesTest, DashesInNamesBecomeUnderscoresUntilDoubleDash) {
  std::vector<std::string> in = {"egmla",  "score", "--logits-out=/tmp/a-b", "--token-ids", "1,2",
                                 "-0.5-x", "--",    "--not-a-flag"};
  std::vector<char*> argv;
  for (auto& s : in) argv.push_back(s.data());
  EXPECT_THAT(NormalizeFlagNames(static_cast<int>(argv.size()), argv.data()),
              ::testing::ElementsAre("egmla", "score", "--logits_out=/tmp/a-b", "--token_ids",
                                     "1,2", "-0.5-x", "--", "--not-a-flag"));
}

}  // namespace
}  // namespace egmla
