// Seed 001, "子进程重启": socket_dispatch plus createExitFn — a worker that exits is replaced:
//   worker.on('exit', createExitFn(workers, i))  →  workers[i] = fork(...); console.log(`进程重启完成,process id:
//   ${pid}`) worker: if (Math.random() > 0.6) { console.log(`${pid} 进程退出了`); socket.end(`Error: ${pid}`);
//   process.exit(1) }
//
//   build/examples/restart_on_exit [--port 8089] [--workers N] [--exit-chance 0.4]
// Runs until Ctrl-C (SIGINT/SIGTERM), like the seed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include <drove/channel.hpp>
#include <drove/net.hpp>
#include <drove/process.hpp>
#include <drove/worker.hpp>

#include "common/args.hpp"

namespace {

int run_worker(double exit_chance) {
  drove::EventLoop loop;
  auto parent = drove::Channel::from_parent(loop);
  if (!parent.ok()) return 1;
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  parent->on_message([&](nlohmann::json msg, drove::UniqueFd socket) {
    if (msg != "socket" || !socket) return;
    if (std::uniform_real_distribution<double>(0, 1)(random) < exit_chance) {
      std::printf("%d 进程退出了\n", ::getpid());
      std::fflush(stdout);
      (void)drove::net::write_all(socket.get(), "Error: " + std::to_string(::getpid()));
      std::exit(1);
    }
    (void)drove::net::write_all(socket.get(), "handle by worker: " + std::to_string(::getpid()));
  });
  loop.run();
  return 0;
}

int run_master(int port, int workers_wanted, const std::string& exit_chance) {
  drove::EventLoop loop;
  std::vector<drove::Child> workers(static_cast<std::size_t>(workers_wanted));
  bool stopping = false;
  drove::net::Server server;
  std::function<bool(std::size_t)> start = [&](std::size_t i) {
    auto child = drove::fork(loop, "/proc/self/exe", {"--exit-chance", exit_chance});
    if (!child.ok()) return false;
    workers[i] = std::move(child.value());
    workers[i].on_exit([&, i](drove::ExitInfo) {  // createExitFn(workers, i)
      if (stopping) return;
      if (!start(i)) return;
      std::printf("进程重启完成,process id: %d\n", workers[i].pid());
      std::fflush(stdout);
    });
    return true;
  };
  for (std::size_t i = 0; i < workers.size(); ++i) {
    if (!start(i)) return 1;
  }
  std::size_t next = 0;
  auto listening = drove::net::Server::listen(loop, "127.0.0.1", port, [&](drove::UniqueFd socket) {
    // Round-robin over the workers that are up (one that just exited is being replaced).
    for (std::size_t tries = 0; tries < workers.size(); ++tries) {
      auto& w = workers[next++ % workers.size()];
      if (w.connected()) {
        (void)w.send("socket", std::move(socket));
        return;
      }
    }
  });
  if (!listening.ok()) {
    std::fprintf(stderr, "listen: %s\n", listening.error().message().c_str());
    return 1;
  }
  server = std::move(listening.value());
  drove::worker::on_shutdown(loop, [&] {  // Ctrl-C: stop restarting, let the workers go
    stopping = true;
    server.close();
    for (auto& w : workers) w.disconnect();
  });
  std::printf("master and workers is ok!\n");
  std::fflush(stdout);
  loop.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string chance = examples::option(argc, argv, "--exit-chance", "0.4");
  if (drove::Channel::has_parent()) return run_worker(std::atof(chance.c_str()));
  return run_master(examples::int_option(argc, argv, "--port", 8089),
                    examples::int_option(argc, argv, "--workers", examples::cpu_count()), chance);
}
