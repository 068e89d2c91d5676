// Seed 001, "实现 master 请求分发到 worker": the master owns a TCP server on 8089, accepts each
// connection and sends the socket round-robin to its forked workers:
//   tcpServer.on('connection', socket => { workers[workerId % n].send('socket', socket); workerId++ })
//   worker: process.on('message', (msg, socket) => socket.end(`handle by worker: ${process.pid}`))
//
//   build/examples/socket_dispatch [--port 8089] [--workers N] [--connections M]
// With --connections M the master stops after M connections (0: runs until Ctrl-C).
// Try it: for i in 1 2 3 4; do nc 127.0.0.1 8089; echo; done
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
  parent->on_message([](nlohmann::json msg, drove::UniqueFd socket) {
    if (msg != "socket" || !socket) return;
    (void)drove::net::write_all(socket.get(), "handle by worker: " + std::to_string(::getpid()));
    // socket.end(): the UniqueFd closes it here.
  });
  loop.run();
  return 0;
}

int run_master(int port, int workers_wanted, int connections) {
  drove::EventLoop loop;
  std::vector<drove::Child> workers;
  for (int i = 0; i < workers_wanted; ++i) {
    auto child = drove::fork(loop, "/proc/self/exe");
    if (!child.ok()) return 1;
    workers.push_back(std::move(child.value()));
  }
  int worker_id = 0;
  drove::net::Server server;
  auto stop = [&] {
    server.close();
    for (auto& w : workers) w.disconnect();
  };
  auto listening = drove::net::Server::listen(loop, "127.0.0.1", port, [&](drove::UniqueFd socket) {
    (void)workers[static_cast<std::size_t>(worker_id % workers_wanted)].send("socket", std::move(socket));
    if (++worker_id == connections) stop();
  });
  if (!listening.ok()) {
    std::fprintf(stderr, "listen: %s\n", listening.error().message().c_str());
    return 1;
  }
  server = std::move(listening.value());
  drove::worker::on_shutdown(loop, stop);  // Ctrl-C
  std::printf("master and workers is ok!\n");
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
