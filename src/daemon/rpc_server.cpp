#include "daemon/rpc_server.hpp"

#include <malloc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.hpp"

namespace drove::daemon {
namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024 * 1024;
constexpr size_t kMaxPendingWriteBytes = 16 * 1024 * 1024;
constexpr size_t kTrimAfterRequestBytes = 64 * 1024;

struct WriteRequest {
  uv_write_t req;
  std::string data;
};

}  // namespace

void RpcReply::ok(nlohmann::json result) const {
  if (auto c = connection_.lock()) {
    c->send_line({{"id", id_}, {"result", std::move(result)}, {"version", DROVE_VERSION}});
  }
}

void RpcReply::error(const std::string& code, const std::string& message) const {
  if (auto c = connection_.lock()) {
    c->send_line({{"id", id_}, {"error", {{"code", code}, {"message", message}}}, {"version", DROVE_VERSION}});
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
    if (auto* self = owner_of<RpcServer>(s)) self->on_connection();
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
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_.get()),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* self = owner_of<RpcConnection>(s);
        if (self) {
          // Keep the connection alive while its own handler runs (it may close it).
          auto keep = self->shared_from_this();
          self->on_read(nread, buf);
        }
        delete[] buf->base;
      });
}

void RpcConnection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    close();
    return;
  }
  buffer_.append(buf->base, static_cast<size_t>(nread));
  if (buffer_.size() > kMaxRequestBytes) {
    close();
    return;
  }
  size_t start = 0;
  bool large_request = false;
  for (size_t nl; !closed_ && (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(buffer_.data() + start, nl - start);
    if (line.empty()) continue;
    RpcRequest request;
    auto message = nlohmann::json::parse(line, nullptr, false);
    if (message.is_discarded() || !message.is_object() || !message.contains("method") || !message["method"].is_string()) {
      send_line({{"id", nullptr}, {"error", {{"code", "EPROTO"}, {"message", "malformed request"}}}});
      continue;
    }
    request.id = message.value("id", nlohmann::json());
    request.method = message["method"].get<std::string>();
    request.params = message.value("params", nlohmann::json::object());
    request.client_version = message.value("version", "");
    server_.handler_(request, RpcReply(weak_from_this(), request.id));
    large_request = large_request || line.size() > kTrimAfterRequestBytes;
  }
  buffer_.erase(0, start);
  // A large request (a start of hundreds of apps) parsed into a large JSON tree, now freed:
  // give that heap back, so the daemon's footprint is what it keeps, not what it once parsed.
  if (large_request) ::malloc_trim(0);
}

void RpcConnection::send_line(const nlohmann::json& message) {
  if (closed_) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(pipe_.get());
  if (uv_stream_get_write_queue_size(stream) > kMaxPendingWriteBytes) {
    log_warn("control client is not reading; disconnecting it");
    close();
    return;
  }
  auto* w = new WriteRequest{};
  w->data = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  w->data.push_back('\n');
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  const int rc = uv_write(&w->req, stream, &buf, 1, [](uv_write_t* req, int) { delete reinterpret_cast<WriteRequest*>(req); });
  if (rc != 0) {
    delete w;
    close();
  }
}

void RpcConnection::subscribe(const std::string& topic, nlohmann::json filter) { subscriptions_[topic] = std::move(filter); }

bool RpcConnection::subscribed(const std::string& topic) const { return subscriptions_.contains(topic); }

const nlohmann::json& RpcConnection::filter(const std::string& topic) const { return subscriptions_.at(topic); }

void RpcConnection::close() {
  if (closed_) return;
  closed_ = true;
  pipe_.close();
  if (on_close) {
    auto callback = std::move(on_close);
    on_close = nullptr;
    callback();  // may destroy *this: nothing after
  }
}

}  // namespace drove::daemon
