// Seed 001, "Worker监听同一个端口": the master opens the TCP server and sends the server itself to
// every worker, which all accept on it (the kernel picks who gets each connection):
//   tcpServer.listen(8089, () => { for (...) childProcess.fork('./worker.js').send('tcpServer', tcpServer) })
//   worker: process.on('message', (msg, tcpServer) => tcpServer.on('connection', s => s.end(`hello,i am
//   ${process.pid}`)))
//
//   build/examples/shared_port [--port 8089] [--workers N] [--connections M]
// Workers report each connection to the master, which stops after M (0: runs until Ctrl-C).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include <drove/channel.hpp>
#include <drove/net.hpp>
#include <drove/process.hpp>
#include <drove/worker.hpp>

#include "common/args.hpp"

namespace {

int run_worker() {
  drove::EventLoop loop;
  auto parent = drove::Channel::from_parent(loop);
  if (!parent.ok()) return 1;
  drove::net::Server server;
  parent->on_message([&](nlohmann::json msg, drove::UniqueFd tcp_server) {
    if (msg != "tcpServer" || !tcp_server) return;
    server = drove::net::Server::adopt(loop, std::move(tcp_server), [&](drove::UniqueFd socket) {
      (void)drove::net::write_all(socket.get(), "hello,i am " + std::to_string(::getpid()));
      socket.reset();
      (void)parent->send("served");
    });
  });
  parent->on_disconnect([&] { server.close(); });
  loop.run();
  return 0;
}

int run_master(int port, int workers_wanted, int connections) {
  drove::EventLoop loop;
  auto tcp_server = drove::net::listen_socket("127.0.0.1", port);
  if (!tcp_server.ok()) {
    std::fprintf(stderr, "listen: %s\n", tcp_server.error().message().c_str());
    return 1;
  }
  std::vector<drove::Child> workers;
  int served = 0;
  auto stop = [&] {
    for (auto& w : workers) w.disconnect();
  };
  for (int i = 0; i < workers_wanted; ++i) {
    auto child = drove::fork(loop, "/proc/self/exe");
    if (!child.ok()) return 1;
    // The fd is duplicated into the message; our copy stays ours.
    drove::UniqueFd copy(::fcntl(tcp_server->get(), F_DUPFD_CLOEXEC, 0));
    (void)child->send("tcpServer", std::move(copy), drove::HandleType::net_server);
    child->on_message([&](nlohmann::json msg, drove::UniqueFd) {
      if (msg == "served" && ++served == connections) stop();
    });
    workers.push_back(std::move(child.value()));
  }
  drove::worker::on_shutdown(loop, stop);
  std::printf("master and %d workers share port %d\n", workers_wanted, drove::net::local_port(tcp_server->get()));
  std::fflush(stdout);
  loop.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (drove::Channel::has_parent()) return run_worker();
  return run_master(examples::int_option(argc, argv, "--port", 8089),
                    examples::int_option(argc, argv, "--workers", examples::cpu_count()),
                    examples::int_option(argc, argv, "--connections", 0));
}
