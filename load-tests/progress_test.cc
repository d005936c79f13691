#include "load-tests/progress.h"

#include <gtest/gtest.h>

namespace egmla::loadgen {
namespace {

TEST(FormatProgressTest, WithAndWithoutTotal) {
  ProgressSnapshot s{.elapsed_s = 12.34,
                     .sent = 120,
                     .total = 300,
                     .done = 97,
                     .failed = 0,
                     .in_flight = 23,
                     .output_tokens = 5000};
  EXPECT_EQ(FormatProgress(s, 812.4),
            "[ 12.3s] sent 120/300 done 97 failed 0 in-flight 23 tok/s 812");
  s.total.reset();
  EXPECT_EQ(FormatProgress(s, 0), "[ 12.3s] sent 120 done 97 failed 0 in-flight 23 tok/s 0");
}

}  // namespace
}  // namespace egmla::loadgen
