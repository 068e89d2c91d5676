// tail_lines(): the last N lines, read backwards, across block boundaries.
#include "logs/tail_lines.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace drove::logs {
namespace {

std::string temp_file(const std::string& content) {
  char name[] = "/tmp/drove-tail-XXXXXX";
  const int fd = ::mkstemp(name);
  EXPECT_GE(fd, 0);
  ::close(fd);  // NOLINT: test scaffolding for a path, the stream below owns the writing
  std::ofstream(name, std::ios::binary) << content;
  return name;
}

TEST(LogsTailLines, ReturnsLastLinesOldestFirst) {
  const auto path = temp_file("a\nb\nc\nd\n");
  EXPECT_EQ(tail_lines(path, 2).value(), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(tail_lines(path, 10).value(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(tail_lines(path, 0).value().empty());
  ::unlink(path.c_str());
}

TEST(LogsTailLines, UnterminatedLastLineCountsAndBlocksJoin) {
  std::string content;
  for (int i = 0; i < 50000; ++i) content += "line " + std::to_string(i) + "\n";
  content += "tail without newline";
  const auto path = temp_file(content);
  const auto lines = tail_lines(path, 3).value();
  EXPECT_EQ(lines, (std::vector<std::string>{"line 49998", "line 49999", "tail without newline"}));
  const auto many = tail_lines(path, 20000).value();
  ASSERT_EQ(many.size(), 20000u);
  EXPECT_EQ(many.front(), "line 30001");
  ::unlink(path.c_str());
}

TEST(LogsTailLines, MissingFileIsAnError) {
  auto lines = tail_lines("/nonexistent/drove.log", 5);
  ASSERT_FALSE(lines.ok());
  EXPECT_EQ(lines.error().code, ENOENT);
}

}  // namespace
}  // namespace drove::logs
