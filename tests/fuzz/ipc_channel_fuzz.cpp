// Fuzz target: what an app can send the daemon over its Node IPC channel. Bytes go through a
// real socketpair (optionally with an fd attached, as a NODE_HANDLE carries one) into a real
// ipc::Channel (line framing, JSON decoding, NODE_HANDLE/ACK handling); every message it
// delivers goes through the cluster-protocol parsers the primary applies to a worker's
// messages, and the replies built from a parsed queryServer are encoded.
//
// Input: byte 0 picks the send size (low 7 bits) and whether an fd rides on the first send
// (high bit); the rest is the stream.
// Oracles: a delivered message survives serialize_message() -> parse unchanged, on one line.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "base/unique_fd.hpp"
#include "fuzz_support.hpp"
#include "ipc/channel.hpp"
#include "ipc/cluster_messages.hpp"

using drove::UniqueFd;
using nlohmann::json;
namespace ipc = drove::ipc;

namespace {

uv_loop_t* the_loop() {
  static uv_loop_t* loop = [] {
    auto* l = new uv_loop_t;
    uv_loop_init(l);
    return l;
  }();
  return loop;
}

void round_trip(const json& msg) {
  const std::string text = ipc::serialize_message(msg);
  drove::fuzz::check(text.find('\n') == std::string::npos, "serialized message spans lines");
  const json back = json::parse(text, nullptr, false);
  drove::fuzz::check(!back.is_discarded(), "serialized message is not JSON");
  drove::fuzz::check(back == msg, "message changed through serialize/parse");
}

void inspect(const json& msg) {
  round_trip(msg);
  (void)ipc::is_internal(msg);
  (void)ipc::act_of(msg);
  (void)ipc::seq_of(msg);
  (void)ipc::ack_of(msg);
  (void)ipc::parse_newconn_reply(msg);
  if (!ipc::is_cluster_message(msg)) return;
  (void)ipc::node_key(msg);
  if (auto q = ipc::parse_query_server(msg)) {
    const json sockname = q->kind == ipc::QueryServer::Kind::unix_path
                              ? json(nullptr)
                              : ipc::make_sockname(q->address.value_or("::"), q->family, q->port);
    round_trip(ipc::rr_reply(*q, q->data, sockname, 1));
    round_trip(ipc::shared_reply(*q, q->data, 2));
    round_trip(ipc::error_reply(*q, q->data, -98, 3));
    round_trip(ipc::newconn(q->key, 4));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = (data[0] & 0x7f) == 0 ? std::size_t{1} << 20 : std::size_t{data[0] & 0x7fu};
  const bool pass_fd = (data[0] & 0x80) != 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  uv_loop_t* loop = the_loop();

  auto pair = ipc::Channel::make_pair();
  if (!pair) return 0;
  UniqueFd peer = std::move(pair->second);
  ::fcntl(peer.get(), F_SETFL, ::fcntl(peer.get(), F_GETFL) | O_NONBLOCK);
  UniqueFd passed(pass_fd ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1);

  bool closed = false;
  ipc::Channel::Callbacks callbacks;
  callbacks.on_message = [](json msg, UniqueFd) { inspect(msg); };
  callbacks.on_close = [&closed](int) { closed = true; };
  auto channel = ipc::Channel::open(loop, std::move(pair->first), std::move(callbacks));
  if (!channel) return 0;

  std::string replies;  // the channel's ACK/NACKs
  drove::fuzz::send_in_chunks(loop, peer.get(), stream, chunk, replies, passed.get());
  ::shutdown(peer.get(), SHUT_WR);
  for (int turns = 0; !closed && turns < 100000; ++turns) {
    uv_run(loop, UV_RUN_NOWAIT);
    drove::fuzz::drain(peer.get(), replies);
  }
  drove::fuzz::check(closed, "the channel never saw the peer's EOF");
  channel->reset();
  while (uv_run(loop, UV_RUN_NOWAIT) != 0) {
  }
  drove::fuzz::check_json_lines(replies, "an ACK/NACK line is not JSON");
  return 0;
}
