// A C++ HTTP app for the drove daemon, written with the worker SDK (drove/worker.hpp): the
// equivalent of seed 002's Node worker run by `pm2 start app.js -i max`.
//
//   drove start build/examples/drove_http_app --name hello -i 2 --exec-mode cluster --port 8080
//   curl http://127.0.0.1:8080/        →  hello from <pid> (activation|cluster)
// Outside drove it binds the port itself:  build/examples/drove_http_app --port 8080
//
// It takes its socket from the daemon (socket activation, or the cluster protocol when drove
// runs it as a protocol worker), tells drove it is ready (wait_ready), and stops gracefully.
#include <unistd.h>

#include <cstdio>

#include <drove/worker.hpp>

#include "common/args.hpp"
#include "common/http_reply.hpp"

int main(int argc, char** argv) {
  drove::EventLoop loop;
  const int port = examples::int_option(argc, argv, "--port", 0);  // 0: $PORT, as set by drove
  std::string source = "?";
  auto status = drove::worker::listen(
      loop, port,
      {.on_connection =
           [&](drove::UniqueFd connection) {
             examples::reply_http(loop, std::move(connection),
                                  "hello from " + std::to_string(::getpid()) + " (" + source + ")\n");
           },
       .on_listening =
           [&](drove::worker::Listening l) {
             source = drove::worker::to_string(l.source);
             std::printf("app %d listening on %d (%s)\n", ::getpid(), l.port, source.c_str());
             std::fflush(stdout);
             (void)drove::worker::ready(loop);
           },
       .on_error =
           [&](const drove::SysError& e) {
             std::fprintf(stderr, "listen failed: %s\n", e.message().c_str());
             loop.stop();
           }});
  if (!status.ok()) {
    std::fprintf(stderr, "listen failed: %s\n", status.error().message().c_str());
    return 1;
  }
  drove::worker::on_message(loop, [](nlohmann::json message, drove::UniqueFd) {
    std::printf("message from drove: %s\n", message.dump().c_str());
    std::fflush(stdout);
  });
  drove::worker::on_shutdown(loop, [] {
    std::printf("app %d stopping\n", ::getpid());
    std::fflush(stdout);
  });
  loop.run();  // ends once the servers are closed and the channel is gone
  return 0;
}
