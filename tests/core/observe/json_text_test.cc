// core/observe/json_text.h's string escaper, the one the log lines, the span lines and the
// gateway's error bodies share: what it escapes and how, and that the result parses back to the
// same text.

#include "core/observe/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace percore::observe {
namespace {

std::string Quoted(std::string_view text) {
  std::string out = "prefix:";
  AppendJsonString(text, &out);
  return out;
}

TEST(JsonStringTest, AppendsAQuotedString) {
  EXPECT_EQ(Quoted(""), "prefix:\"\"");
  EXPECT_EQ(Quoted("plain text"), "prefix:\"plain text\"");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Quoted("say \"hi\" \\ bye"), R"(prefix:"say \"hi\" \\ bye")");
  EXPECT_EQ(Quoted("a\nb\rc\td"), R"(prefix:"a\nb\rc\td")");
  EXPECT_EQ(Quoted(std::string("\x01\x1f\b\f", 4)), R"(prefix:"\u0001\u001f\u0008\u000c")");
  EXPECT_EQ(Quoted(std::string("nul\0x", 5)), R"(prefix:"nul\u0000x")");
}

TEST(JsonStringTest, KeepsEveryOtherByte) {
  EXPECT_EQ(Quoted("caf\u00e9 \u20ac </script> \x7f"),
            "prefix:\"caf\u00e9 \u20ac </script> \x7f\"");
}

TEST(JsonStringTest, ParsesBackToTheSameText) {
  std::string text;
  for (int c = 1; c < 0x80; ++c) text.push_back(static_cast<char>(c));
  text += "\u00e9\u20ac";
  std::string out;
  AppendJsonString(text, &out);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), text);
}

}  // namespace
}  // namespace percore::observe
