#include "tools/grpcdyn/duration.h"

#include <gtest/gtest.h>

namespace percore::grpcdyn {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, GoSyntax) {
  EXPECT_EQ(*ParseDuration("10s"), 10s);
  EXPECT_EQ(*ParseDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseDuration("1m30s"), 90s);
  EXPECT_EQ(*ParseDuration("1.5h"), 90min);
  EXPECT_EQ(*ParseDuration("250us"), 250us);
  EXPECT_EQ(*ParseDuration("7ns"), 7ns);
  EXPECT_EQ(*ParseDuration("0"), 0ns);
}

TEST(DurationTest, ErrorsSayWhatIsMissing) {
  EXPECT_NE(ParseDuration("10").error().find("unit"), std::string::npos);
  EXPECT_NE(ParseDuration("s").error().find("number"), std::string::npos);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("10x").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("1..2s").ok());
}

}  // namespace
}  // namespace percore::grpcdyn
