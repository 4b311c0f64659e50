#include "tools/grpcdyn/flag_parser.h"

#include <gtest/gtest.h>

#include <vector>

namespace percore::grpcdyn {
namespace {

struct Argv {
  explicit Argv(std::vector<std::string> words) : words_(std::move(words)) {
    pointers_.push_back(const_cast<char*>("tool"));
    for (auto& w : words_) pointers_.push_back(w.data());
  }
  int argc() { return static_cast<int>(pointers_.size()); }
  char** argv() { return pointers_.data(); }
  std::vector<std::string> words_;
  std::vector<char*> pointers_;
};

class FlagParserTest : public ::testing::Test {
 protected:
  FlagParserTest() {
    flags_.AddUint({"-c", "--concurrency"}, "N", "calls", &concurrency_);
    flags_.AddBool({"--plaintext"}, "plain", &plaintext_);
    flags_.AddString({"-d", "--data"}, "JSON", "data", &data_);
    flags_.AddDuration({"-z"}, "D", "duration", &duration_);
  }
  Result<std::vector<std::string>> Parse(std::vector<std::string> words) {
    Argv a(std::move(words));
    return flags_.Parse(a.argc(), a.argv());
  }

  FlagParser flags_;
  uint64_t concurrency_ = 50;
  bool plaintext_ = false;
  std::string data_;
  std::chrono::nanoseconds duration_{0};
};

TEST_F(FlagParserTest, AllSpellings) {
  auto rest = Parse({"-c", "4", "host:1", "--data={\"a\":1}", "-plaintext", "-z", "2s"});
  ASSERT_TRUE(rest.ok()) << rest.error();
  EXPECT_EQ(*rest, std::vector<std::string>{"host:1"});
  EXPECT_EQ(concurrency_, 4u);
  EXPECT_EQ(data_, "{\"a\":1}");
  EXPECT_TRUE(plaintext_);
  EXPECT_EQ(duration_, std::chrono::seconds(2));
  EXPECT_TRUE(flags_.WasSet("--concurrency"));
  ASSERT_TRUE(Parse({"--concurrency=8"}).ok());
  EXPECT_EQ(concurrency_, 8u);
}

TEST_F(FlagParserTest, ValuesMayStartWithADash) {
  ASSERT_TRUE(Parse({"-d", "-"}).ok());
  EXPECT_EQ(data_, "-");
}

TEST_F(FlagParserTest, ErrorsNameTheFlag) {
  EXPECT_NE(Parse({"--nope"}).error().find("--nope"), std::string::npos);
  EXPECT_NE(Parse({"-c", "x"}).error().find("-c"), std::string::npos);
  EXPECT_NE(Parse({"-c"}).error().find("needs a value"), std::string::npos);
  EXPECT_NE(Parse({"--plaintext=maybe"}).error().find("--plaintext"), std::string::npos);
}

TEST_F(FlagParserTest, HelpListsEveryFlag) {
  std::string help = flags_.Help();
  for (const char* name : {"-c, --concurrency N", "--plaintext", "-d, --data JSON", "-z D"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace percore::grpcdyn
