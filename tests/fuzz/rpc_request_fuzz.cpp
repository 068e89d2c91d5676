// Fuzz target: the daemon's control-socket reader. Bytes go through a real socketpair into a
// real RpcConnection (framing of newline-delimited JSON, request decoding, reply encoding) on a
// libuv loop, exactly the path a local client's bytes take; the handler echoes the request back
// so reply encoding sees whatever the decoder produced.
//
// Input: byte 0 picks how the stream is split into sends; the rest is the stream.
// Oracles: every reply line is a JSON object; each complete non-blank line gets exactly one
// reply (a blank-only line at most one).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "daemon/rpc_server.hpp"
#include "fuzz_support.hpp"

using drove::ErrorCode;
using drove::UniqueFd;
using drove::UvHandle;
using drove::daemon::RpcConnection;
using drove::daemon::RpcReply;
using drove::daemon::RpcRequest;
using drove::daemon::RpcServer;
using nlohmann::json;

namespace {

uv_loop_t* the_loop() {
  static uv_loop_t* loop = [] {
    auto* l = new uv_loop_t;
    uv_loop_init(l);
    return l;
  }();
  return loop;
}

void handle(RpcServer& server, const RpcRequest& request, const RpcReply& reply) {
  if (request.method == "subscribe") {
    if (auto c = reply.connection()) c->subscribe("events", request.params);
    server.broadcast("events", json{{"event", "x"}, {"params", request.params}},
                     [](const json& filter) { return filter.is_object() && filter.contains("name"); });
    reply.ok(true);
  } else if (request.method == "fail") {
    reply.error(ErrorCode::invalid,
                request.method + ": " + request.params.dump(-1, ' ', false, json::error_handler_t::replace));
  } else {
    reply.ok(json{{"method", request.method}, {"params", request.params}, {"version", request.client_version}});
  }
}

// Complete lines with something besides blanks must each be answered; a blank-only line may be
// (today: EPROTO) or may be skipped like an empty one; an empty line never is.
struct ReplyBounds {
  std::size_t at_least = 0;
  std::size_t at_most = 0;
};
ReplyBounds expected_replies(std::string_view stream) {
  ReplyBounds bounds;
  for (std::size_t start = 0, nl; (nl = stream.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    const auto line = stream.substr(start, nl - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) ++bounds.at_least;
    if (!line.empty()) ++bounds.at_most;
  }
  return bounds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] < 16 ? std::size_t{1} << 20 : std::size_t{data[0]} - 15;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  uv_loop_t* loop = the_loop();

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) return 0;
  UniqueFd ours(pair[0]);
  UniqueFd peer(pair[1]);
  std::string replies;
  {
    RpcServer* server_ptr = nullptr;
    RpcServer server(loop,
                     [&server_ptr](const RpcRequest& r, const RpcReply& reply) { handle(*server_ptr, r, reply); });
    server_ptr = &server;
    auto pipe = UvHandle<uv_pipe_t>::make();
    uv_pipe_init(loop, pipe.get(), 0);
    if (uv_pipe_open(pipe.get(), ours.release()) != 0) return 0;
    bool closed = false;
    auto connection = std::make_shared<RpcConnection>(server, std::move(pipe));
    connection->on_close = [&closed] { closed = true; };
    connection->start();

    drove::fuzz::send_in_chunks(loop, peer.get(), stream, chunk, replies);
    ::shutdown(peer.get(), SHUT_WR);
    for (int turns = 0; !closed && turns < 100000; ++turns) {
      uv_run(loop, UV_RUN_NOWAIT);
      drove::fuzz::drain(peer.get(), replies);
    }
    drove::fuzz::check(closed, "the connection never saw the client's EOF");
    // Writes queued before the close are flushed or cancelled by libuv; let it finish.
    connection.reset();
    server.close();
    while (uv_run(loop, UV_RUN_NOWAIT) != 0) drove::fuzz::drain(peer.get(), replies);
  }
  drove::fuzz::drain(peer.get(), replies);

  std::size_t answered = 0;
  for (std::size_t start = 0, nl; (nl = replies.find('\n', start)) != std::string::npos; start = nl + 1) {
    const json line = json::parse(std::string_view(replies).substr(start, nl - start), nullptr, false);
    drove::fuzz::check(line.is_object(), "a reply line is not a JSON object");
    if (line.contains("id")) ++answered;  // broadcasts to subscribers carry "event" instead
  }
  // A connection closed by EOF may drop replies libuv could not write yet; only small streams,
  // whose replies fit in the socket buffer, must all be answered.
  const ReplyBounds bounds = expected_replies(stream);
  if (stream.size() <= 16384 && (answered < bounds.at_least || answered > bounds.at_most)) {
    std::fprintf(stderr, "%zu replies for %zu..%zu request lines:\n%s\n", answered, bounds.at_least, bounds.at_most,
                 replies.c_str());
    drove::fuzz::fail("replies do not match complete request lines");
  }
  return 0;
}
