#include "daemon/rpc_server.hpp"

#include <algorithm>

#include <malloc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "base/json_limits.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "base/off_loop.hpp"

namespace drove::daemon {
namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024 * 1024;
constexpr size_t kMaxPendingWriteBytes = 16 * 1024 * 1024;
constexpr size_t kTrimAfterRequestBytes = 64 * 1024;
// A line this long is parsed off the loop: a 15 MiB `start` took the loop ~0.5 s, most of it
// parsing, while round-robin apps' connections waited for their accept.
constexpr size_t kParseOffLoopBytes = 1024 * 1024;

struct ShutdownRequest {
  uv_shutdown_t req;
  std::weak_ptr<RpcConnection> connection;
};

struct WriteRequest {
  uv_write_t req;
  std::string data;
};

// An error reply: to request `id` (null when the line could not be read as a request).
nlohmann::json error_line(nlohmann::json id, ErrorCode code, const std::string& message) {
  return {
      {"id", std::move(id)}, {"error", {{"code", wire_name(code)}, {"message", message}}}, {"version", DROVE_VERSION}};
}

}  // namespace

struct RpcReply::Unanswered {
  std::weak_ptr<RpcConnection> connection;
  Unanswered(const Unanswered&) = delete;
  Unanswered& operator=(const Unanswered&) = delete;
  explicit Unanswered(std::weak_ptr<RpcConnection> c) : connection(std::move(c)) {}
  ~Unanswered() {
    try {
      if (auto c = connection.lock()) c->request_settled();
    } catch (const std::exception& e) {
      log_error("control connection: {}", e.what());
    }
  }
};

RpcReply::RpcReply(const std::shared_ptr<RpcConnection>& connection, nlohmann::json id)
    : connection_(connection), id_(std::move(id)) {
  ++connection->unanswered_;
  unanswered_ = std::make_shared<const Unanswered>(connection);
}

void RpcReply::ok(nlohmann::json result) const {
  if (auto c = connection_.lock()) {
    c->send_line({{"id", id_}, {"result", std::move(result)}, {"version", DROVE_VERSION}});
  }
}

void RpcReply::ok_off_loop(nlohmann::json result) const {
  if (auto c = connection_.lock()) {
    c->send_line_off_loop({{"id", id_}, {"result", std::move(result)}, {"version", DROVE_VERSION}});
  }
}

void RpcReply::error(ErrorCode code, const std::string& message) const {
  if (auto c = connection_.lock()) {
    c->send_line(error_line(id_, code, message));
  }
}

RpcServer::RpcServer(uv_loop_t* loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

RpcServer::~RpcServer() { close(); }

Status RpcServer::listen(const std::string& socket_path) {
  server_ = UvHandle<uv_pipe_t>::make();
  uv_pipe_init(loop_, server_.get(), 0);
  server_->data = this;
  ::unlink(socket_path.c_str());
  // The socket is created 0600 (umask), never briefly reachable by others.
  const mode_t old_mask = ::umask(077);
  const int bind_rc = uv_pipe_bind(server_.get(), socket_path.c_str());
  ::umask(old_mask);
  if (bind_rc != 0) return SysError{-bind_rc, "bind control socket \"" + socket_path + "\""};
  const int rc = uv_listen(reinterpret_cast<uv_stream_t*>(server_.get()), 128, [](uv_stream_t* s, int status) {
    if (status != 0) return;
    loop_barrier("control socket accept", [s] {
      if (auto* self = owner_of<RpcServer>(s)) self->on_connection();
    });
  });
  if (rc != 0) return SysError{-rc, "listen on control socket"};
  return Ok{};
}

void RpcServer::on_connection() {
  auto pipe = UvHandle<uv_pipe_t>::make();
  uv_pipe_init(loop_, pipe.get(), 0);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(server_.get()), reinterpret_cast<uv_stream_t*>(pipe.get())) != 0) return;
  uv_os_fd_t fd = -1;
  uv_fileno(pipe.handle(), &fd);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::geteuid()) {
    log_warn("refused a control connection from uid {} (pid {})", cred.uid, cred.pid);
    return;  // the pipe closes as it goes out of scope
  }
  auto connection = std::make_shared<RpcConnection>(*this, std::move(pipe));
  connections_.push_back(connection);
  auto it = std::prev(connections_.end());
  connection->on_close = [this, it] { connections_.erase(it); };
  connection->start();
}

Status RpcServer::adopt(UniqueFd fd, MethodPolicy policy) {
  auto pipe = UvHandle<uv_pipe_t>::make();
  uv_pipe_init(loop_, pipe.get(), 0);
  if (const int rc = uv_pipe_open(pipe.get(), fd.get()); rc != 0) return SysError{-rc, "adopt a control connection"};
  (void)fd.release();  // the pipe owns it now
  auto connection = std::make_shared<RpcConnection>(*this, std::move(pipe));
  connection->restrict_to(std::move(policy));
  connections_.push_back(connection);
  auto it = std::prev(connections_.end());
  connection->on_close = [this, it] { connections_.erase(it); };
  connection->start();
  return Ok{};
}

void RpcServer::broadcast(const std::string& topic, const nlohmann::json& event,
                          const std::function<bool(const nlohmann::json& filter)>& accepts) {
  // Copy: a send may close (and unlink) a connection that fell too far behind.
  auto targets = connections_;
  for (auto& c : targets) {
    if (c->subscribed(topic) && (!accepts || accepts(c->filter(topic)))) c->send_line(event);
  }
}

bool RpcServer::has_subscribers(const std::string& topic) const {
  for (const auto& c : connections_) {
    if (c->subscribed(topic)) return true;
  }
  return false;
}

void RpcServer::close() {
  server_.close();
  auto all = connections_;
  for (auto& c : all) c->close();
}

RpcConnection::RpcConnection(RpcServer& server, UvHandle<uv_pipe_t> pipe) : server_(server), pipe_(std::move(pipe)) {}

void RpcConnection::start() {
  pipe_->data = this;
  resume_reading();
}

void RpcConnection::resume_reading() {
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_.get()),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        std::unique_ptr<char[]> owned(buf->base);
        loop_barrier("control connection", [s, nread, buf] {
          if (auto* self = owner_of<RpcConnection>(s)) {
            // Keep the connection alive while its own handler runs (it may close it).
            auto keep = self->shared_from_this();
            self->on_read(nread, buf);
          }
        });
      });
}

void RpcConnection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == UV_EOF) {
    // The client is done sending (it may still read): what it sent whole is answered, a line it
    // left unfinished is not a request.
    eof_ = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_.get()));
    discard_input();
    close_when_answered();
    return;
  }
  if (nread < 0) {
    close();
    return;
  }
  const std::string_view chunk(buf->base, static_cast<size_t>(nread));
  if (!big_line_.empty()) {
    // The rest of a long line: kept as it came, searched for its end in the new bytes only.
    const size_t nl = chunk.find('\n');
    big_line_bytes_ += nl == std::string_view::npos ? chunk.size() : nl;
    if (big_line_bytes_ > kMaxRequestBytes) return refuse_oversized_line();
    if (nl == std::string_view::npos) {
      big_line_.emplace_back(chunk);
      return;
    }
    big_line_.emplace_back(chunk.substr(0, nl));
    buffer_.assign(chunk.substr(nl + 1));  // the lines after it wait until it is handled
    scanned_ = 0;
    std::vector<std::string> chunks;
    chunks.swap(big_line_);
    big_line_bytes_ = 0;
    parse_off_loop(std::move(chunks));
    return;
  }
  buffer_.append(chunk);
  drain_buffer();
}

void RpcConnection::drain_buffer() {
  // Only bytes not searched before can hold a new '\n': everything before `scanned_` was searched
  // on an earlier read, so framing is linear in the bytes received, not in the line's length.
  size_t start = 0;
  bool large_request = false;
  for (size_t nl; !closed_ && (nl = buffer_.find('\n', scanned_)) != std::string::npos; start = scanned_ = nl + 1) {
    std::string_view line(buffer_.data() + start, nl - start);
    if (line.empty()) continue;
    if (line.size() > kParseOffLoopBytes) {
      std::vector<std::string> chunks(1);
      if (start == 0 && nl + 1 == buffer_.size()) {
        chunks[0] = std::move(buffer_);  // the line is all there is: take it, no copy
        chunks[0].pop_back();
        buffer_.clear();
      } else {
        chunks[0].assign(line);
        buffer_.erase(0, nl + 1);
      }
      scanned_ = 0;
      parse_off_loop(std::move(chunks));
      return;
    }
    large_request = large_request || line.size() > kTrimAfterRequestBytes;
    handle_line(line);
  }
  if (closed_) return;
  buffer_.erase(0, start);
  scanned_ = buffer_.size();
  if (buffer_.size() > kMaxRequestBytes) return refuse_oversized_line();
  if (buffer_.size() > kParseOffLoopBytes) {
    // A long line has begun: its bytes are kept in the chunks they come in, not in one string
    // that grows by doubling (each doubling copied all of it, and faulted in twice its size, in
    // one loop turn: ~50 ms at 8 MiB). The pool thread joins them.
    big_line_bytes_ = buffer_.size();
    big_line_.push_back(std::move(buffer_));
    buffer_.clear();
    scanned_ = 0;
    return;
  }
  // A large request (a start of hundreds of apps) parsed into a large JSON tree, now freed:
  // give that heap back, so the daemon's footprint is what it keeps, not what it once parsed.
  if (large_request) {
    buffer_.shrink_to_fit();
    ::malloc_trim(0);
  }
}

// The line cannot be parsed, and what follows it cannot be framed: say so, then hang up.
void RpcConnection::refuse_oversized_line() {
  log_warn("control client sent a line longer than {} bytes; disconnecting it", kMaxRequestBytes);
  discard_input();
  send_line(
      error_line(nullptr, ErrorCode::too_big, fmt::format("request line longer than {} MiB", kMaxRequestBytes >> 20)));
  close_after_flush();
  ::malloc_trim(0);
}

// Unread bytes no longer wanted (the client hung up, or framing is lost): their memory goes too.
void RpcConnection::discard_input() {
  std::string().swap(buffer_);
  std::vector<std::string>().swap(big_line_);
  big_line_bytes_ = 0;
  scanned_ = 0;
}

void RpcConnection::parse_off_loop(std::vector<std::string> chunks) {
  parsing_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_.get()));
  struct Parsed {
    std::optional<nlohmann::json> message;
    std::string why;
  };
  // On a pool thread: the chunks joined into the line, and the parse; nothing shared.
  auto parse = [chunks = std::move(chunks)]() mutable {
    Parsed out;
    try {
      std::string line;
      if (chunks.size() == 1) {
        line = std::move(chunks.front());
      } else {
        std::size_t total = 0;
        for (const auto& c : chunks) total += c.size();
        line.reserve(total);
        for (auto& c : chunks) {
          line.append(c);
          std::string().swap(c);
        }
      }
      out.message = parse_json_bounded(line, out.why);
    } catch (const std::exception& e) {  // bad_alloc: this request fails, not the daemon
      out.message.reset();
      out.why = e.what();
    }
    return out;
  };
  auto done = [self = shared_from_this()](Parsed parsed) {
    self->finish_parsed(std::move(parsed.message), parsed.why);
  };
  if (!run_off_loop(server_.loop_, "control request parsed off the loop", std::move(parse), std::move(done))) {
    log_warn("control request dropped: the thread pool refused to parse it");
    close();
  }
}

void RpcConnection::finish_parsed(std::optional<nlohmann::json> message, const std::string& why) {
  parsing_ = false;
  if (closed_) return;
  handle_message(std::move(message), why);
  ::malloc_trim(0);  // the big tree is gone: give its heap back
  if (closed_) return;
  drain_buffer();  // the lines that came after it
  if (!closed_ && !parsing_ && !eof_) resume_reading();
}

void RpcConnection::handle_line(std::string_view line) {
  std::string why;
  auto message = parse_json_bounded(line, why);
  handle_message(std::move(message), why);
}

void RpcConnection::handle_message(std::optional<nlohmann::json> message, const std::string& why) {
  if (!message || !message->is_object()) {
    const std::string reason = message ? "request is not a JSON object" : "malformed request: " + why;
    send_line(error_line(nullptr, ErrorCode::protocol, reason));
    return;
  }
  auto method = message->find("method");
  if (method == message->end() || !method->is_string()) {
    send_line(error_line(nullptr, ErrorCode::protocol, "malformed request: \"method\" must be a string"));
    return;
  }
  RpcRequest request;
  if (auto id = message->find("id"); id != message->end()) request.id = std::move(*id);
  request.method = method->get<std::string>();
  if (auto params = message->find("params"); params != message->end() && !params->is_null()) {
    request.params = std::move(*params);
  } else {
    request.params = nlohmann::json::object();
  }
  if (auto version = message->find("version"); version != message->end() && version->is_string()) {
    request.client_version = version->get<std::string>();
  }
  const RpcReply reply(shared_from_this(), request.id);
  if (!policy_.empty()) {
    const auto allowed = policy_.find(request.method);
    if (allowed == policy_.end()) {
      reply.error(ErrorCode::no_method, "method '" + request.method + "' is not allowed on this connection");
      return;
    }
    if (!request.params.is_object()) {
      reply.error(ErrorCode::invalid, "the parameters of '" + request.method + "' must be an object");
      return;
    }
    for (const auto& [key, _] : request.params.items()) {
      if (!allowed->second.count(key)) {
        reply.error(ErrorCode::invalid,
                    "parameter '" + key + "' of '" + request.method + "' is not allowed on this connection");
        return;
      }
    }
  }
  try {
    server_.handler_(request, reply);
  } catch (const std::exception& error) {
    // A bug in a method must cost this request, not the daemon.
    contained_exceptions().fetch_add(1, std::memory_order_relaxed);
    log_error("internal error contained in RPC method '{}': {}", request.method, error.what());
    reply.error(ErrorCode::internal, std::string("internal error: ") + error.what());
  }
}

void RpcConnection::send_line(const nlohmann::json& message) {
  if (closed_ || shutting_down_) return;
  std::string line = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  if (outgoing_.empty()) return write(std::move(line));
  outgoing_.push_back(std::make_shared<Outgoing>(Outgoing{std::move(line), true}));
}

void RpcConnection::send_line_off_loop(nlohmann::json message) {
  if (closed_ || shutting_down_) return;
  auto slot = std::make_shared<Outgoing>();
  outgoing_.push_back(slot);
  auto serialise = [message = std::move(message)]() mutable {
    const nlohmann::json owned = std::move(message);  // freed here too, not on the loop
    std::string line = owned.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    return line;
  };
  auto done = [self = shared_from_this(), slot](std::string line) {
    slot->data = std::move(line);
    slot->ready = true;
    self->write_ready();
  };
  if (!run_off_loop(server_.loop_, "control reply serialised off the loop", std::move(serialise), std::move(done))) {
    outgoing_.pop_back();
    log_warn("control reply dropped: the thread pool refused its serialisation");
    close();
  }
}

void RpcConnection::write_ready() {
  while (!outgoing_.empty() && outgoing_.front()->ready) {
    std::string data = std::move(outgoing_.front()->data);
    outgoing_.pop_front();
    write(std::move(data));
  }
  close_when_answered();
}

bool RpcServer::writes_pending() const {
  return std::any_of(connections_.begin(), connections_.end(),
                     [](const auto& connection) { return connection->writes_pending(); });
}

bool RpcConnection::writes_pending() const {
  if (closed_) return false;
  return !outgoing_.empty() || uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(pipe_.get())) > 0;
}

void RpcConnection::write(std::string data) {
  if (closed_ || shutting_down_) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(pipe_.get());
  if (uv_stream_get_write_queue_size(stream) > kMaxPendingWriteBytes) {
    log_warn("control client is not reading; disconnecting it");
    close();
    return;
  }
  auto* w = new WriteRequest{};
  w->data = std::move(data);
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  const int rc =
      uv_write(&w->req, stream, &buf, 1, [](uv_write_t* req, int) { delete reinterpret_cast<WriteRequest*>(req); });
  if (rc != 0) {
    delete w;
    close();
  }
}

void RpcConnection::request_settled() {
  --unanswered_;
  close_when_answered();
}

void RpcConnection::close_when_answered() {
  if (eof_ && !closed_ && !shutting_down_ && !parsing_ && unanswered_ == 0 && outgoing_.empty()) close_after_flush();
}

void RpcConnection::close_after_flush() {
  if (closed_ || shutting_down_) return;
  shutting_down_ = true;
  auto* stream = reinterpret_cast<uv_stream_t*>(pipe_.get());
  uv_read_stop(stream);
  auto* request = new ShutdownRequest{};
  request->connection = weak_from_this();
  const int rc = uv_shutdown(&request->req, stream, [](uv_shutdown_t* req, int) {
    std::unique_ptr<ShutdownRequest> owned(reinterpret_cast<ShutdownRequest*>(req));
    loop_barrier("control connection shutdown", [&owned] {
      if (auto connection = owned->connection.lock()) connection->close();
    });
  });
  if (rc != 0) {
    delete request;
    close();
  }
}

void RpcConnection::subscribe(const std::string& topic, nlohmann::json filter) {
  subscriptions_[topic] = std::move(filter);
}

bool RpcConnection::subscribed(const std::string& topic) const { return subscriptions_.contains(topic); }

const nlohmann::json& RpcConnection::filter(const std::string& topic) const { return subscriptions_.at(topic); }

void RpcConnection::close() {
  if (closed_) return;
  closed_ = true;
  pipe_.close();
  if (buffer_.capacity() > kTrimAfterRequestBytes || !big_line_.empty()) {
    // A client that left mid-way through a big line: return that memory too.
    discard_input();
    ::malloc_trim(0);
  }
  if (on_close) {
    auto callback = std::move(on_close);
    on_close = nullptr;
    callback();  // may destroy *this: nothing after
  }
}

}  // namespace drove::daemon
