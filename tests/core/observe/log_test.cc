// core/observe's log lines: text is the message as it always was; JSON is one object per line
// with ts (RFC 3339, µs), level, shard (null off a shard), msg (escaped), and the trace ids when
// the code runs under a call's trace context; levels below --log-level are not written.

#include "core/observe/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "core/observe/trace_context.h"

namespace percore::observe {
namespace {

class LogLineTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetLogFormat(LogFormat::kText);
    SetLogShard(-1);
  }
};

TEST_F(LogLineTest, TextIsTheMessageAlone) {
  SetLogFormat(LogFormat::kText);
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, "percore-server: stopped\n"),
            "percore-server: stopped\n");
}

TEST_F(LogLineTest, JsonHasTimeLevelShardAndMessage) {
  SetLogFormat(LogFormat::kJson);
  std::string line = FormatLogLine(LogLevel::kWarn, "quote \" backslash \\ tab \t end\n");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "warn");
  EXPECT_TRUE(parsed["shard"].is_null());
  EXPECT_EQ(parsed["msg"], "quote \" backslash \\ tab \t end");
  EXPECT_TRUE(std::regex_match(parsed["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << parsed["ts"];
  EXPECT_FALSE(parsed.contains("trace_id"));
}

TEST_F(LogLineTest, JsonNamesTheShardAndTheCallsTrace) {
  SetLogFormat(LogFormat::kJson);
  SetLogShard(3);
  std::optional<TraceContext> context =
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(context);
  TraceScope scope(*context);
  nlohmann::json parsed = nlohmann::json::parse(FormatLogLine(LogLevel::kError, "refused"));
  EXPECT_EQ(parsed["shard"], 3);
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_EQ(parsed["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parsed["span_id"], "00f067aa0ba902b7");
}

TEST(LogFlagsTest, NamesParse) {
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("JSON"));
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("verbose"));
  EXPECT_EQ(LogLevelName(LogLevel::kDebug), "debug");
}

}  // namespace
}  // namespace percore::observe
