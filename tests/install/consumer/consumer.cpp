// Built against the installed drove library (tests/install): child_process and cluster, the
// two halves of the library, in one program.
//   consumer            the primary: runs `echo`, forks 2 workers of itself, prints what they say
//   (as a worker)       says hello to the primary
#include <cstdio>
#include <string>

#include <drove/cluster.hpp>
#include <drove/process.hpp>

int main() {
  drove::EventLoop loop;
  if (drove::cluster::is_worker()) {
    drove::cluster::on_disconnect(loop, [] {});
    (void)drove::cluster::send(loop, "hello from worker " + std::to_string(drove::cluster::worker_id()));
    loop.run();  // until the primary disconnects us
    return 0;
  }
  auto echo = drove::exec_sync("echo child_process ok");
  if (!echo.ok()) return 1;
  std::fputs(echo->out.c_str(), stdout);
  drove::cluster::Primary primary(loop, {});
  int greetings = 0;
  primary.on_message([&](drove::cluster::Worker&, nlohmann::json message, drove::UniqueFd) {
    std::printf("%s\n", message.get<std::string>().c_str());
    if (++greetings == 2) primary.disconnect();
  });
  int exits = 0;
  primary.on_exit([&](drove::cluster::Worker&, drove::ExitInfo info) { exits += info.success() ? 1 : 0; });
  for (int i = 0; i < 2; ++i) {
    if (!primary.fork().ok()) return 1;
  }
  loop.run();
  std::printf("cluster ok: %d workers exited cleanly\n", exits);
  return exits == 2 ? 0 : 1;
}
