// Line framing: complete lines only, prefixes only at true line starts, whatever the chunking.
#include "logs/line_framer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace drove::logs {
namespace {

constexpr std::int64_t kT = 1709622489012;  // 2024-03-05T07:08:09.012Z

LineFormat json_format() {
  return {.kind = LineFormat::Kind::json, .date_format = "", .app_name = "api", .process_id = 2, .is_err = false};
}
LineFormat stamped(std::string format) {
  return {.kind = LineFormat::Kind::timestamped, .date_format = std::move(format)};
}

TEST(LogsLineFramer, RawKeepsTheUnfinishedTailUntilItsNewline) {
  LineFramer framer({});
  std::string out;
  framer.feed("one\ntw", kT, out, nullptr);
  EXPECT_EQ(out, "one\n");
  EXPECT_TRUE(framer.has_partial());
  framer.feed("o\nthree\n", kT, out, nullptr);
  EXPECT_EQ(out, "one\ntwo\nthree\n");
  EXPECT_FALSE(framer.has_partial());
}

TEST(LogsLineFramer, OutputDoesNotDependOnHowBytesAreChunked) {
  const std::string input = "alpha\nbeta\n\ngamma delta\nepsilon\n";
  for (auto format : {LineFormat{}, stamped("[x] HH:mm"), json_format()}) {
    std::string whole;
    LineFramer reference(format);
    reference.feed(input, kT, whole, nullptr);
    for (std::size_t step = 1; step <= 7; ++step) {
      LineFramer framer(format);
      std::string out;
      for (std::size_t i = 0; i < input.size(); i += step) framer.feed(input.substr(i, step), kT, out, nullptr);
      EXPECT_EQ(out, whole) << "step " << step;
    }
  }
}

TEST(LogsLineFramer, PrefixesEachLineOnceWithTheFirstBytesArrivalTime) {
  LineFramer framer(stamped("HH:mm:ss.SSS"));
  std::string out;
  framer.feed("a\nlong", 0, out, nullptr);
  framer.feed(" line", 5000, out, nullptr);
  framer.feed(" end\n", 9000, out, nullptr);
  EXPECT_EQ(out, "00:00:00.000: a\n00:00:00.000: long line end\n");
}

TEST(LogsLineFramer, ContinuationOfAFlushedPartialLineGetsNoPrefix) {
  LineFramer framer(stamped("ss"));
  std::string out;
  framer.feed("progress...", 1000, out, nullptr);
  EXPECT_EQ(out, "");
  framer.flush_partial(out, nullptr);
  EXPECT_EQ(out, "01: progress...");
  framer.feed(" done\nnext\n", 2000, out, nullptr);
  EXPECT_EQ(out, "01: progress... done\n02: next\n");
}

TEST(LogsLineFramer, JsonMessagesConcatenateBackToTheStream) {
  LineFramer framer(json_format());
  std::string out;
  framer.feed("x\"y\npart", kT, out, nullptr);
  framer.flush_partial(out, nullptr);
  framer.feed("ial\n", kT, out, nullptr);
  std::string stream;
  std::size_t begin = 0;
  for (std::size_t nl; (nl = out.find('\n', begin)) != std::string::npos; begin = nl + 1) {
    const auto object = nlohmann::json::parse(out.substr(begin, nl - begin));
    EXPECT_EQ(object["timestamp"], "2024-03-05T07:08:09.012Z");
    EXPECT_EQ(object["process_id"], 2);
    stream += object["message"].get<std::string>();
  }
  EXPECT_EQ(stream, "x\"y\npartial\n");
}

TEST(LogsLineFramer, CapFlushesAnEndlessLineAsIs) {
  LineFramer framer(stamped("ss"), 10);
  std::string out;
  framer.feed("0123456789abc", 0, out, nullptr);
  EXPECT_EQ(out, "00: 0123456789abc");
  framer.feed("def\n", 0, out, nullptr);
  EXPECT_EQ(out, "00: 0123456789abcdef\n");
}

TEST(LogsLineFramer, VisitorSeesTextWithoutPrefixAndPartialFlag) {
  LineFramer framer(stamped("ss"));
  std::vector<std::pair<std::string, bool>> seen;
  LineVisitor visitor = [&](const FramedLine& line) { seen.emplace_back(std::string(line.text), line.complete); };
  std::string out;
  framer.feed("a\nb", 0, out, &visitor);
  framer.flush_partial(out, &visitor);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, bool>>{{"a", true}, {"b", false}}));
}

// Not a correctness test: prints the framing cost so regressions are visible in the test log.
TEST(LogsLineFramer, ThroughputOfShortLines) {
  std::string chunk;
  for (int i = 0; chunk.size() < 60000; ++i) chunk += "GET /api/items/" + std::to_string(i) + " 200 3ms\n";
  std::size_t lines_per_chunk = 0;
  for (char c : chunk) lines_per_chunk += c == '\n';
  for (auto [name, format] : {std::pair{"raw", LineFormat{}}, std::pair{"time", stamped("YYYY-MM-DDTHH:mm:ss")},
                              std::pair{"json", json_format()}}) {
    LineFramer framer(format);
    std::string out;
    const auto start = std::chrono::steady_clock::now();
    const int rounds = 300;
    for (int r = 0; r < rounds; ++r) {
      out.clear();
      framer.feed(chunk, kT + r, out, nullptr);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[framer %s] %.1f M lines/s\n", name, static_cast<double>(lines_per_chunk) * rounds / seconds / 1e6);
    EXPECT_GT(out.size(), chunk.size() - 1);
  }
}

}  // namespace
}  // namespace drove::logs
