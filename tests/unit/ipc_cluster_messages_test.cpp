#include "ipc/cluster_messages.hpp"

#include <gtest/gtest.h>

#include "ipc/channel.hpp"

namespace drove::ipc {
namespace {

using nlohmann::json;

TEST(ClusterMessages, KeyOfPlainListenMatchesNode) {
  const auto msg = json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":null,"port":3000,"addressType":4,"backlog":0,"seq":1})");
  auto q = parse_query_server(msg);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->key, "null:3000:4:undefined:0");
  EXPECT_EQ(q->kind, QueryServer::Kind::tcp);
  EXPECT_FALSE(q->address);
  EXPECT_EQ(q->port, 3000);
  EXPECT_EQ(q->seq, 1);
}

TEST(ClusterMessages, QueryServerWithHostIsParsed) {
  const auto msg = json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":1,"data":null,"address":"::1","port":3456,"addressType":6,"flags":1,"backlog":false,"seq":7})");
  auto q = parse_query_server(msg);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->key, "::1:3456:6:undefined:1");
  EXPECT_EQ(*q->address, "::1");
  EXPECT_EQ(q->family, 6);
  EXPECT_EQ(q->flags, 1);
  EXPECT_EQ(q->index, 1);
}

TEST(ClusterMessages, UnixPathUdpAndFdQueriesAreRecognised) {
  auto unix_q = parse_query_server(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":"/tmp/a.sock","port":-1,"addressType":-1,"seq":1})"));
  ASSERT_TRUE(unix_q);
  EXPECT_EQ(unix_q->kind, QueryServer::Kind::unix_path);
  EXPECT_EQ(unix_q->key, "/tmp/a.sock:-1:-1:undefined:0");

  auto udp = parse_query_server(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":"0.0.0.0","port":4000,"addressType":"udp4","fd":-1,"flags":4,"seq":2})"));
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->kind, QueryServer::Kind::udp);
  EXPECT_EQ(udp->key, "0.0.0.0:4000:udp4:-1:0");
  EXPECT_EQ(udp->flags, 4);

  auto fd = parse_query_server(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":null,"port":null,"addressType":null,"fd":9,"seq":3})"));
  ASSERT_TRUE(fd);
  EXPECT_EQ(fd->kind, QueryServer::Kind::fd);
  EXPECT_EQ(fd->key, "null:null:null:9:0");
}

TEST(ClusterMessages, MalformedQueryServerIsRejected) {
  EXPECT_FALSE(parse_query_server(json::parse(R"({"cmd":"NODE_CLUSTER","act":"queryServer"})")));
  EXPECT_FALSE(parse_query_server(json::parse(R"({"cmd":"NODE_CLUSTER","act":"online","seq":0})")));
  EXPECT_FALSE(parse_query_server(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","address":null,"port":70000,"addressType":4,"seq":1})")));
}

TEST(ClusterMessages, RepliesHaveTheFieldsNodeReads) {
  auto q = parse_query_server(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":null,"address":"127.0.0.1","port":3456,"addressType":4,"flags":0,"backlog":false,"seq":1})"));
  ASSERT_TRUE(q);
  const json rr = rr_reply(*q, nullptr, make_sockname("127.0.0.1", 4, 3456), 5);
  EXPECT_EQ(
      rr,
      json::parse(
          R"({"cmd":"NODE_CLUSTER","errno":null,"key":"127.0.0.1:3456:4:undefined:0","ack":1,"data":null,"sockname":{"address":"127.0.0.1","port":3456,"family":"IPv4"},"seq":5})"));
  const json unix_rr = rr_reply(*q, nullptr, nullptr, 5);
  EXPECT_FALSE(unix_rr.contains("sockname"));
  EXPECT_EQ(shared_reply(*q, nullptr, 0)["errno"], 0);
  EXPECT_EQ(error_reply(*q, nullptr, -98, 0)["errno"], -98);
  EXPECT_EQ(newconn("k", 3), json::parse(R"({"cmd":"NODE_CLUSTER","act":"newconn","key":"k","seq":3})"));
  EXPECT_EQ(disconnect_request(2), json::parse(R"({"cmd":"NODE_CLUSTER","act":"disconnect","seq":2})"));
  EXPECT_EQ(ack_reply(5, 2), json::parse(R"({"cmd":"NODE_CLUSTER","ack":5,"seq":2})"));
}

TEST(ClusterMessages, TlsDataOfTheFirstWorkerIsEchoed) {
  auto q = parse_query_server(json::parse(
      R"({"cmd":"NODE_CLUSTER","act":"queryServer","index":0,"data":{"ticketKeys":"ab"},"address":null,"port":443,"addressType":4,"seq":1})"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->data["ticketKeys"], "ab");
  EXPECT_EQ(rr_reply(*q, json{{"ticketKeys", "first"}}, nullptr, 0)["data"]["ticketKeys"], "first");
}

TEST(ClusterMessages, NewconnReplyIsParsed) {
  auto r = parse_newconn_reply(json::parse(R"({"cmd":"NODE_CLUSTER","ack":3,"accepted":true,"seq":3})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ack, 3);
  EXPECT_TRUE(r->accepted);
  EXPECT_FALSE(parse_newconn_reply(json::parse(R"({"cmd":"NODE_CLUSTER","ack":3,"seq":3})")));
}

TEST(ClusterMessages, InternalMessagesAreRecognisedLikeNode) {
  EXPECT_TRUE(is_internal(json::parse(R"({"cmd":"NODE_CLUSTER"})")));
  EXPECT_TRUE(is_internal(json::parse(R"({"cmd":"NODE_HANDLE_ACK"})")));
  EXPECT_FALSE(is_internal(json::parse(R"({"cmd":"NODE_"})")));
  EXPECT_FALSE(is_internal(json::parse(R"({"cmd":"hello"})")));
  EXPECT_FALSE(is_internal(json::parse(R"("ready")")));
  EXPECT_FALSE(is_internal(json::parse(R"({"cmd":7})")));
}

TEST(ClusterMessages, SerializedMessageNeverContainsANewline) {
  const json msg = {{"s", "line\nbreak\r\x01"}, {"bad", std::string("\xff\xfe")}};
  const std::string text = serialize_message(msg);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(text)["s"], "line\nbreak\r\x01");
}

}  // namespace
}  // namespace drove::ipc
