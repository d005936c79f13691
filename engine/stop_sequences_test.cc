#include "engine/stop_sequences.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace egmla {
namespace {

using ::testing::HasSubstr;

StopSequenceMatcher Make(std::vector<std::string> stops) {
  auto matcher = StopSequenceMatcher::Create(std::move(stops));
  EXPECT_TRUE(matcher.ok()) << matcher.status();
  return *std::move(matcher);
}

TEST(StopSequenceMatcherTest, RejectsEmptyAndInvalidStops) {
  auto empty = StopSequenceMatcher::Create({"ok", ""});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("stop_sequences[1]"));
  auto invalid = StopSequenceMatcher::Create({"\xC3"});
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.status().message(), HasSubstr("UTF-8"));
}

TEST(StopSequenceMatcherTest, NoStopsPassesThrough) {
  StopSequenceMatcher matcher = Make({});
  EXPECT_EQ(matcher.Feed("anything").text, "anything");
  EXPECT_EQ(matcher.Finish(), "");
}

TEST(StopSequenceMatcherTest, MatchInOneChunkCutsBeforeIt) {
  StopSequenceMatcher matcher = Make({"STOP"});
  auto result = matcher.Feed("Hello STOP world");
  EXPECT_EQ(result.text, "Hello ");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.matched, "STOP");
  EXPECT_EQ(result.match_offset, 6u);
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(matcher.Feed("more").text, "");
  EXPECT_EQ(matcher.Finish(), "");
}

TEST(StopSequenceMatcherTest, StopSplitAcrossTwoSteps) {
  StopSequenceMatcher matcher = Make({"\n\nUser:"});
  auto first = matcher.Feed("The answer is 42.\n\nUs");
  EXPECT_EQ(first.text, "The answer is 42.");
  EXPECT_FALSE(first.stopped);
  EXPECT_EQ(matcher.num_held_bytes(), 4u);
  auto second = matcher.Feed("er: next question");
  EXPECT_EQ(second.text, "");
  EXPECT_TRUE(second.stopped);
  EXPECT_EQ(second.matched, "\n\nUser:");
  EXPECT_EQ(second.match_offset, 17u);
}

TEST(StopSequenceMatcherTest, HeldTextReleasedWhenItDoesNotMatch) {
  StopSequenceMatcher matcher = Make({"STOP"});
  auto first = matcher.Feed("a ST");
  EXPECT_EQ(first.text, "a ");
  auto second = matcher.Feed("ART");
  EXPECT_EQ(second.text, "START");
  EXPECT_FALSE(second.stopped);
  EXPECT_EQ(matcher.Feed("x S").text, "x ");
  EXPECT_EQ(matcher.Finish(), "S");  // end of stream: released
}

TEST(StopSequenceMatcherTest, OverlappingPrefixes) {
  StopSequenceMatcher matcher = Make({"aab"});
  std::string out;
  for (char c : std::string("aaab")) {
    auto result = matcher.Feed(std::string(1, c));
    out += result.text;
    if (result.stopped) break;
  }
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(out, "a");
}

TEST(StopSequenceMatcherTest, FirstToCompleteWins) {
  // "ab" completes before "xabc" could: same answer however the text is chunked.
  StopSequenceMatcher whole = Make({"xabc", "ab"});
  auto result = whole.Feed("xabc");
  EXPECT_EQ(result.text, "x");
  EXPECT_EQ(result.matched, "ab");
  StopSequenceMatcher stepwise = Make({"xabc", "ab"});
  std::string out;
  for (char c : std::string("xabc")) {
    result = stepwise.Feed(std::string(1, c));
    out += result.text;
    if (result.stopped) break;
  }
  EXPECT_EQ(out, "x");
  EXPECT_EQ(result.matched, "ab");
  // Equal ends: the longer (earlier) stop.
  StopSequenceMatcher tie = Make({"b", "ab"});
  result = tie.Feed("cab");
  EXPECT_EQ(result.text, "c");
  EXPECT_EQ(result.matched, "ab");
}

TEST(StopSequenceMatcherTest, MultiByteStops) {
  StopSequenceMatcher matcher = Make({"世界"});
  EXPECT_EQ(matcher.Feed("你好世").text, "你好");
  auto result = matcher.Feed("界!");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.text, "");
  EXPECT_EQ(result.match_offset, 6u);
}

TEST(StopSequenceMatcherTest, MatchingOffPassesThroughAndReleases) {
  StopSequenceMatcher matcher = Make({"END"});
  EXPECT_EQ(matcher.Feed("x E").text, "x ");
  EXPECT_EQ(matcher.Feed("ND END", /*match=*/false).text, "END END");
  EXPECT_EQ(matcher.Feed("ND").text, "ND");  // text fed unmatched does not start a match
  auto result = matcher.Feed(" then END");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.text, " then ");
}

// Reference: the stop that ends first in the whole text (longest on ties); text before it.
std::pair<std::string, std::string> Reference(const std::string& text,
                                              const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    const std::string* best = nullptr;
    for (const std::string& stop : stops) {
      if (stop.size() <= end && text.compare(end - stop.size(), stop.size(), stop) == 0 &&
          (best == nullptr || stop.size() > best->size())) {
        best = &stop;
      }
    }
    if (best != nullptr) return {text.substr(0, end - best->size()), *best};
  }
  return {text, ""};
}

TEST(StopSequenceMatcherTest, RandomChunkingsAgreeWithReference) {
  std::mt19937 rng(1234);
  const std::string alphabet = "abc";
  const auto random_string = [&](size_t min, size_t max) {
    std::string s(std::uniform_int_distribution<size_t>(min, max)(rng), 'a');
    for (char& c : s) c = alphabet[std::uniform_int_distribution<size_t>(0, 2)(rng)];
    return s;
  };
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::string> stops;
    const int num_stops = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int i = 0; i < num_stops; ++i) stops.push_back(random_string(1, 4));
    const std::string text = random_string(0, 30);
    const auto [expected_text, expected_stop] = Reference(text, stops);
    StopSequenceMatcher matcher = Make(stops);
    std::string out;
    std::string matched;
    size_t pos = 0;
    while (pos < text.size() && !matcher.stopped()) {
      const size_t n = std::uniform_int_distribution<size_t>(1, 5)(rng);
      auto result = matcher.Feed(std::string_view(text).substr(pos, n));
      out += result.text;
      if (result.stopped) {
        matched = result.matched;
        EXPECT_EQ(result.match_offset, expected_text.size());
      }
      pos += n;
    }
    out += matcher.Finish();
    ASSERT_EQ(out, expected_text) << "text " << text << " trial " << trial;
    ASSERT_EQ(matched, expected_stop) << "text " << text << " trial " << trial;
  }
}

}  // namespace
}  // namespace egmla
