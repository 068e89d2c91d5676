// Example helper: answer one HTTP request on a connection from the loop, then close it.
// Reads until the end of the request headers (so closing never resets unread data), writes
// `body` as a 200 response. Small on purpose: the examples are about processes, not HTTP.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <string>

#include <drove/event_loop.hpp>
#include <drove/net.hpp>
#include <drove/unique_fd.hpp>

namespace examples {

inline void reply_http(drove::EventLoop& loop, drove::UniqueFd connection, std::string body,
                       std::function<void()> done = {}) {
  struct Pending {
    uv_poll_t poll{};
    drove::UniqueFd fd;
    std::string request, body;
    std::function<void()> done;
  };
  auto* p = new Pending{{}, std::move(connection), {}, std::move(body), std::move(done)};
  uv_poll_init(loop.native(), &p->poll, p->fd.get());
  p->poll.data = p;
  uv_poll_start(&p->poll, UV_READABLE, [](uv_poll_t* h, int status, int) {
    auto* self = static_cast<Pending*>(h->data);
    char buf[4096];
    ssize_t n = 0;
    while (status == 0 && (n = ::recv(self->fd.get(), buf, sizeof buf, 0)) > 0)
      self->request.append(buf, static_cast<std::size_t>(n));
    const bool complete = self->request.find("\r\n\r\n") != std::string::npos;
    if (!complete && n < 0 && errno == EAGAIN) return;  // more to come
    if (complete) {
      const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                                   std::to_string(self->body.size()) + "\r\nConnection: close\r\n\r\n" + self->body;
      (void)drove::net::write_all(self->fd.get(), response);
    }
    uv_poll_stop(h);
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* closed) {
      auto* finished = static_cast<Pending*>(closed->data);
      auto fn = std::move(finished->done);
      delete finished;  // closes the connection
      if (fn) fn();
    });
  });
}

}  // namespace examples
