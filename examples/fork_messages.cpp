// Seed 001, "父子进程通信": master.js forks one worker per CPU and exchanges a message with each.
//   master: workers.forEach(w => { w.on('message', m => console.log('father-:', m)); w.send('hello world!') })
//   worker: process.on('message', m => { console.log('worker-:', m, 'pid:', process.pid); process.send('halle father!')
//   })
// One binary plays both roles: a child started with a channel is the worker.
//
//   build/examples/fork_messages [--workers N]     (default: one per CPU)
// The master disconnects its workers once each has answered, so the program ends.
#include <unistd.h>

#include <cstdio>
#include <vector>

#include <drove/channel.hpp>
#include <drove/process.hpp>

#include "common/args.hpp"

namespace {

int run_worker() {
  drove::EventLoop loop;
  auto parent = drove::Channel::from_parent(loop);
  if (!parent.ok()) return 1;
  parent->on_message([&](nlohmann::json m, drove::UniqueFd) {
    std::printf("worker-: %s pid: %d\n", m.get<std::string>().c_str(), ::getpid());
    std::fflush(stdout);
    (void)parent->send("halle father!");
  });
  loop.run();  // until the master disconnects
  return 0;
}

int run_master(int workers_wanted) {
  drove::EventLoop loop;
  std::vector<drove::Child> workers;
  for (int i = 0; i < workers_wanted; ++i) {
    auto child = drove::fork(loop, "/proc/self/exe");
    if (!child.ok()) {
      std::fprintf(stderr, "fork: %s\n", child.error().message().c_str());
      return 1;
    }
    workers.push_back(std::move(child.value()));
  }
  int answers = 0;
  for (auto& worker : workers) {
    worker.on_message([&](nlohmann::json m, drove::UniqueFd) {
      std::printf("father-: %s\n", m.get<std::string>().c_str());
      std::fflush(stdout);
      if (++answers == workers_wanted) {
        for (auto& w : workers) w.disconnect();
      }
    });
    (void)worker.send("hello world!");
  }
  std::printf("Master fork done!\n");
  std::fflush(stdout);
  loop.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (drove::Channel::has_parent()) return run_worker();
  return run_master(examples::int_option(argc, argv, "--workers", examples::cpu_count()));
}
