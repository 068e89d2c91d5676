// A C++ cluster program shaped like docs/library.md's example, with workers that have work of
// their own (a repeating timer, as a worker with periodic jobs has), and a primary with no
// signal handling: SIGTERM or SIGKILL ends it abruptly. Used to check that its workers do not
// outlive it (tests/e2e/sdk_examples_test.cpp).
//   lib_cluster_app <workers>   prints "worker <pid> ready" once each worker is up
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <drove/cluster.hpp>

int main(int argc, char** argv) {
  drove::EventLoop loop;
  if (drove::cluster::is_worker()) {
    drove::cluster::on_message(loop, [](nlohmann::json, drove::UniqueFd) {});
    if (!drove::cluster::send(loop, {{"ready", ::getpid()}}).ok()) return 1;
    drove::Timer work = loop.set_timer(
        50, [] {}, 50);
    loop.run();
    return 0;
  }
  const int workers = argc > 1 ? std::atoi(argv[1]) : 2;
  drove::cluster::Settings settings;
  settings.args.assign(argv + 1, argv + argc);
  drove::cluster::Primary primary(loop, settings);
  primary.on_message([](drove::cluster::Worker&, nlohmann::json message, drove::UniqueFd) {
    if (message.is_object() && message.contains("ready")) {
      std::printf("worker %d ready\n", message["ready"].get<int>());
      std::fflush(stdout);
    }
  });
  for (int i = 0; i < workers; ++i) {
    if (!primary.fork().ok()) return 1;
  }
  loop.run();
  return 0;
}
