#include "ipc/line_framer.hpp"

#include <gtest/gtest.h>

namespace drove::ipc {
namespace {

// Lines recorded from a Node 20 worker (node-cluster-protocol.md §3).
const std::string kOnline = R"({"cmd":"NODE_CLUSTER","act":"online","seq":0})";
const std::string kQuery =
    R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":"127.0.0.1","port":3456,"addressType":4,"flags":0,"backlog":false,"seq":1})";

TEST(LineFramer, LineSplitAcrossReadsIsReassembled) {
  LineFramer framer;
  std::vector<std::string> lines;
  const std::string wire = kQuery + "\n";
  for (std::size_t i = 0; i < wire.size(); i += 7) {
    ASSERT_TRUE(framer.feed(std::string_view(wire).substr(i, 7), lines));
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], kQuery);
  EXPECT_EQ(framer.buffered_bytes(), 0u);
}

TEST(LineFramer, SeveralMessagesInOneReadComeOutInOrder) {
  LineFramer framer;
  std::vector<std::string> lines;
  const std::string wire = R"({"cmd":"NODE_HANDLE_ACK"})"
                           "\n" +
                           kOnline + "\n\"ready\"\n" + kQuery.substr(0, 10);
  ASSERT_TRUE(framer.feed(wire, lines));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], R"({"cmd":"NODE_HANDLE_ACK"})");
  EXPECT_EQ(lines[1], kOnline);
  EXPECT_EQ(lines[2], "\"ready\"");
  EXPECT_EQ(framer.buffered_bytes(), 10u);
}

TEST(LineFramer, MultibyteCharacterSplitAcrossReadsSurvives) {
  LineFramer framer;
  std::vector<std::string> lines;
  const std::string wire = "\"h\xC3\xA9llo \xE2\x80\xA8 \xE4\xBD\xA0\xE5\xA5\xBD\"\n";  // é, U+2028, 你好
  for (std::size_t i = 0; i < wire.size(); ++i) ASSERT_TRUE(framer.feed(wire.substr(i, 1), lines));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0] + "\n", wire);
}

TEST(LineFramer, BlankLinesAreIgnored) {
  LineFramer framer;
  std::vector<std::string> lines;
  ASSERT_TRUE(framer.feed("\n\r\n  \n1\n\n2\r\n", lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"1", "2"}));
}

TEST(LineFramer, OverlongLineIsAnErrorAndPoisonsTheStream) {
  LineFramer framer(16);
  std::vector<std::string> lines;
  EXPECT_TRUE(framer.feed("0123456789", lines));
  EXPECT_FALSE(framer.feed("0123456789", lines));
  EXPECT_TRUE(framer.overflowed());
  EXPECT_FALSE(framer.feed("1\n", lines));
  EXPECT_TRUE(lines.empty());
}

TEST(LineFramer, LineExactlyAtTheBoundIsAccepted) {
  LineFramer framer(4);
  std::vector<std::string> lines;
  EXPECT_TRUE(framer.feed("1234\n12", lines));
  EXPECT_TRUE(framer.feed("34\n", lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"1234", "1234"}));
}

}  // namespace
}  // namespace drove::ipc
