// RpcServer: the daemon's control socket. Newline-delimited JSON over a unix stream socket
// (see docs/rpc.md): a request {"id","method","params","version"} gets one reply
// {"id","result"|"error":{code,message},"version"}; a connection that subscribed also receives
// pushed {"event":...} lines. Only the socket's owner may connect (SO_PEERCRED is checked on
// accept, on top of the 0600 socket inside the 0700 home).
//
// Limits (docs/reliability.md): a request line is at most 64 MiB (longer: an E2BIG reply, then
// the connection is closed since framing is lost) and nests at most 64 levels (deeper: an EPROTO
// reply for that line, the connection stays). A method that throws costs its request an
// EINTERNAL reply, never the daemon.
//
// Writes never block the loop: a subscriber that stops reading and lets more than a bounded
// amount pile up is disconnected rather than buffered without limit.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/command_error.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"

namespace drove::daemon {

class RpcConnection;

// What a restricted connection may call: method → the parameter names it may pass.
using MethodPolicy = std::map<std::string, std::set<std::string>, std::less<>>;

struct RpcRequest {
  nlohmann::json id;
  std::string method;
  nlohmann::json params;
  std::string client_version;
};

// Sends the one reply to a request; callable once, possibly later (after a stop completes).
// While any copy of it lives, the request counts as unanswered: a client that half-closes its
// end after sending is answered every request before the daemon hangs up.
class RpcReply {
 public:
  RpcReply(const std::shared_ptr<RpcConnection>& connection, nlohmann::json id);
  void ok(nlohmann::json result) const;
  // As ok(), the reply serialised on a pool thread: for replies of hundreds of kilobytes (a
  // jlist of 1,000 instances), whose serialisation alone held the loop ~20 ms.
  void ok_off_loop(nlohmann::json result) const;
  void error(ErrorCode code, const std::string& message) const;
  void error(const CommandError& error) const { this->error(error.code, error.message); }
  [[nodiscard]] std::shared_ptr<RpcConnection> connection() const { return connection_.lock(); }

 private:
  struct Unanswered;  // its destructor tells the connection this request is settled
  std::weak_ptr<RpcConnection> connection_;
  nlohmann::json id_;
  std::shared_ptr<const Unanswered> unanswered_;
};

class RpcServer {
 public:
  using Handler = std::function<void(RpcRequest&, const RpcReply&)>;  // may consume the request

  RpcServer(uv_loop_t* loop, Handler handler);
  ~RpcServer();
  Status listen(const std::string& socket_path);
  // Serves one already-connected socket (a socketpair end handed to a helper process), which
  // may call only the methods of `policy`, each with only the parameters listed for it:
  // another method is answered ENOSYS, another parameter is refused. A helper gets exactly the
  // rights it needs, whatever user it runs as (no `list` with environments, no `restart` with
  // new specs, for a process that parses requests from the network).
  Status adopt(UniqueFd fd, MethodPolicy policy);
  // Pushes `event` to every connection subscribed to `topic` ("events", "logs") whose filter
  // `accepts` it (no predicate: all of them).
  void broadcast(const std::string& topic, const nlohmann::json& event,
                 const std::function<bool(const nlohmann::json& filter)>& accepts = {});
  [[nodiscard]] bool has_subscribers(const std::string& topic) const;
  // Whether any connection still has bytes to write (a reply sent just now).
  [[nodiscard]] bool writes_pending() const;
  void close();

 private:
  friend class RpcConnection;
  void on_connection();

  uv_loop_t* loop_;
  Handler handler_;
  UvHandle<uv_pipe_t> server_;
  std::list<std::shared_ptr<RpcConnection>> connections_;
};

class RpcConnection : public std::enable_shared_from_this<RpcConnection> {
 public:
  RpcConnection(RpcServer& server, UvHandle<uv_pipe_t> pipe);
  void start();
  void send_line(const nlohmann::json& message);
  // Serialises `message` on a pool thread; lines sent meanwhile wait behind it (order is kept).
  void send_line_off_loop(nlohmann::json message);
  void subscribe(const std::string& topic, nlohmann::json filter);
  void unsubscribe(const std::string& topic) { subscriptions_.erase(topic); }
  // Only these methods with these parameters (empty: anything): see RpcServer::adopt.
  void restrict_to(MethodPolicy policy) { policy_ = std::move(policy); }
  [[nodiscard]] bool subscribed(const std::string& topic) const;
  [[nodiscard]] const nlohmann::json& filter(const std::string& topic) const;
  [[nodiscard]] bool writes_pending() const;
  void close();
  // Called when the connection goes away (the client disconnected).
  std::function<void()> on_close;

 private:
  friend class RpcReply;
  void resume_reading();
  void on_read(ssize_t nread, const uv_buf_t* buf);
  // Frames and handles the complete lines in buffer_. A line over kParseOffLoopBytes is parsed on
  // libuv's thread pool: reading pauses, and the lines after it wait, until it is handled.
  void drain_buffer();
  void parse_off_loop(std::vector<std::string> chunks);  // one line, in the chunks it came in
  void refuse_oversized_line();
  void discard_input();
  // Handles a line parsed off the loop, then the lines buffered behind it; reading resumes.
  void finish_parsed(std::optional<nlohmann::json> message, const std::string& why);
  void handle_line(std::string_view line);
  void handle_message(std::optional<nlohmann::json> message, const std::string& why);
  // Framing is lost (a line beyond the limit), or the client said it is done: send what is
  // queued, then close.
  void close_after_flush();
  // After the client's EOF: once every request read is answered and written, hang up.
  void close_when_answered();
  void request_settled();
  // A line to write; `ready` once serialised. Used while a line is serialised off the loop.
  struct Outgoing {
    std::string data;
    bool ready = false;
  };
  void write(std::string data);
  void write_ready();

  RpcServer& server_;
  UvHandle<uv_pipe_t> pipe_;
  std::string buffer_;
  size_t scanned_ = 0;  // buffer_[0, scanned_) holds no '\n' not yet handled
  // A line longer than kParseOffLoopBytes, as it came (see drain_buffer); empty otherwise.
  std::vector<std::string> big_line_;
  size_t big_line_bytes_ = 0;
  nlohmann::json subscriptions_ = nlohmann::json::object();
  MethodPolicy policy_;
  bool closed_ = false;
  bool parsing_ = false;                            // a line is being parsed on the thread pool
  bool eof_ = false;                                // the client shut down its sending side; no more requests come
  bool shutting_down_ = false;                      // close_after_flush began: nothing more is written
  size_t unanswered_ = 0;                           // RpcReply objects alive for this connection's requests
  std::deque<std::shared_ptr<Outgoing>> outgoing_;  // non-empty while one is serialised off the loop
};

}  // namespace drove::daemon
