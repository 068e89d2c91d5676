// Seed 002, the HTTP hello cluster:
//   if (cluster.isPrimary) { console.log(`主进程 ${process.pid} 正在运行`); for (...) cluster.fork();
//                            cluster.on('exit', w => console.log(`工作进程 ${w.process.pid} 已退出`)) }
//   else { http.createServer((req, res) => { res.writeHead(200); res.end('你好，世界！') }).listen(8000);
//          console.log(`工作进程 ${process.pid} 已启动`) }
//
//   build/examples/http_cluster [--port 8000] [--workers N] [--policy round-robin|shared|least-connections|reuseport]
//                               [--requests M]
// With --requests M the primary disconnects its workers after M requests (0: runs until Ctrl-C).
// Try it: curl http://127.0.0.1:8000/
#include <unistd.h>

#include <cstdio>

#include <drove/cluster.hpp>
#include <drove/worker.hpp>

#include "common/args.hpp"
#include "common/http_reply.hpp"

namespace {

drove::cluster::SchedulingPolicy policy_named(const std::string& name) {
  using P = drove::cluster::SchedulingPolicy;
  if (name == "shared") return P::shared;
  if (name == "reuseport") return P::reuseport;
  if (name == "least-connections") return P::least_connections;
  return P::round_robin;
}

int run_worker(int port) {
  drove::EventLoop loop;
  auto status = drove::cluster::listen(loop, std::nullopt, port, [&](drove::UniqueFd connection) {
    examples::reply_http(loop, std::move(connection), "你好，世界！",
                         [&] { (void)drove::cluster::send(loop, "request"); });
  });
  if (!status.ok()) return 1;
  std::printf("工作进程 %d 已启动\n", ::getpid());
  std::fflush(stdout);
  loop.run();  // until the primary disconnects us
  return 0;
}

int run_primary(int argc, char** argv) {
  const int workers = examples::int_option(argc, argv, "--workers", examples::cpu_count());
  const int requests = examples::int_option(argc, argv, "--requests", 0);
  drove::EventLoop loop;
  drove::cluster::Settings settings;
  settings.args.assign(argv + 1, argv + argc);  // workers see the same options (the port)
  settings.policy = policy_named(examples::option(argc, argv, "--policy", "round-robin"));
  drove::cluster::Primary primary(loop, settings);
  std::printf("主进程 %d 正在运行\n", ::getpid());
  std::fflush(stdout);
  int served = 0;
  primary.on_exit([](drove::cluster::Worker& w, drove::ExitInfo) {
    std::printf("工作进程 %d 已退出\n", w.pid());
    std::fflush(stdout);
  });
  primary.on_message([&](drove::cluster::Worker&, nlohmann::json msg, drove::UniqueFd) {
    if (msg == "request" && ++served == requests) primary.disconnect();
  });
  for (int i = 0; i < workers; ++i) {
    if (!primary.fork().ok()) return 1;
  }
  drove::worker::on_shutdown(loop, [&] { primary.disconnect(); });
  loop.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (drove::cluster::is_primary()) return run_primary(argc, argv);
  return run_worker(examples::int_option(argc, argv, "--port", 8000));
}
