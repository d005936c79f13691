#include "common/byte_size.h"

#include "gtest/gtest.h"

namespace egmla {
namespace {

TEST(ByteSizeTest, ParsesPlainBinaryAndDecimalSizes) {
  EXPECT_EQ(ParseByteSize("1024"), 1024);
  EXPECT_EQ(ParseByteSize("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(ParseByteSize("512mib"), int64_t{512} << 20);
  EXPECT_EQ(ParseByteSize("1.5GB"), 1500000000);
  EXPECT_EQ(ParseByteSize("64 KB"), 64000);
}

TEST(ByteSizeTest, RefusesNonsense) {
  for (const char* bad : {"", "GiB", "-1GiB", "3 parsecs", "1e30", "nan"}) {
    EXPECT_FALSE(ParseByteSize(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace egmla
