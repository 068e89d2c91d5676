// JSON log lines: PM2's shape, valid JSON whatever bytes the app printed.
#include "logs/json_line.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace drove::logs {
namespace {

TEST(LogsJsonLine, HasPm2FieldsInOrderAndEndsWithNewline) {
  std::string out;
  append_json_line(out, {.message = "hello",
                         .timestamp = "2024-03-05T07:08:09.012Z",
                         .is_err = true,
                         .process_id = 3,
                         .app_name = "api"});
  EXPECT_EQ(out,
            "{\"message\":\"hello\\n\",\"timestamp\":\"2024-03-05T07:08:09.012Z\",\"type\":\"err\","
            "\"process_id\":3,\"app_name\":\"api\"}\n");
}

TEST(LogsJsonLine, PartialLineMessageHasNoNewline) {
  std::string out;
  append_json_line(out, {.message = "progress", .ends_line = false, .timestamp = "t", .app_name = "a"});
  const auto parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["message"], "progress");
  EXPECT_EQ(parsed["type"], "out");
}

TEST(LogsJsonLine, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\td\x01\r", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\td\\u0001\\r\"");
  EXPECT_EQ(nlohmann::json::parse(out), std::string("a\"b\\c\td\x01\r", 9));
}

TEST(LogsJsonLine, KeepsValidUtf8AndReplacesInvalidBytes) {
  std::string out;
  append_json_string(out, "caf\xC3\xA9 \xF0\x9F\x9A\x80");
  EXPECT_EQ(out, "\"caf\xC3\xA9 \xF0\x9F\x9A\x80\"");
  out.clear();
  append_json_string(out, "bad\xFF\xC3(\xED\xA0\x80!");  // stray byte, truncated, surrogate
  EXPECT_TRUE(nlohmann::json::accept(out));
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(),
            "bad\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
}

}  // namespace
}  // namespace drove::logs
