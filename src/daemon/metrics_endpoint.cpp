#include "daemon/metrics_endpoint.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/safe_file.hpp"
#include "process/spawn.hpp"

namespace drove::daemon {
namespace {

// What a drove-web connection may ask the daemon, and with which parameters: the endpoint's and
// the dashboard's reads (subscribe/unsubscribe: live log lines), and the dashboard's four
// actions on existing apps. Not start, delete, describe, send, signal, save, kill; not `list`
// with `full`/`shared` (environments), not `restart`/`reload` with new specs or environments.
const daemon::MethodPolicy kEndpointPolicy = {
    {"ping", {}},
    {"metrics", {}},
    {"list", {"history"}},
    {"subscribe", {"logs", "events", "filter"}},
    {"unsubscribe", {"logs", "events"}},
    {"restart", {"targets"}},
    {"reload", {"targets"}},
    {"stop", {"targets"}},
    {"scale", {"name", "count"}},
};

constexpr int kConfigError = 78;               // drove-web's EX_CONFIG
constexpr std::int64_t kStableMs = 10000;      // a run this long resets the back-off
constexpr std::int64_t kMaxBackoffMs = 30000;  // restarts at most this far apart

// 32 bytes from the kernel's CSPRNG, as 64 lowercase hex digits; "" if getrandom failed.
std::string random_token() {
  unsigned char bytes[32];
  std::size_t filled = 0;
  while (filled < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + filled, sizeof bytes - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    filled += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (const unsigned char byte : bytes) {
    token += kHex[byte >> 4];
    token += kHex[byte & 0xf];
  }
  return token;
}

}  // namespace

std::optional<MetricsEndpoint::Options> MetricsEndpoint::from_environment(const std::string& daemon_binary) {
  const char* address = std::getenv("DROVE_METRICS_ADDR");
  if (address == nullptr || *address == '\0') return std::nullopt;
  const char* remote = std::getenv("DROVE_METRICS_ALLOW_REMOTE");
  Options options;
  options.address = address;
  options.allow_remote = remote != nullptr && std::string(remote) == "1";
  std::error_code ignored;
  const auto real = std::filesystem::canonical(daemon_binary, ignored);
  options.program = (real.empty() ? std::filesystem::path(daemon_binary) : real).parent_path() / "drove-web";
  return options;
}

MetricsEndpoint::MetricsEndpoint(uv_loop_t* loop, process::Reaper& reaper, RpcServer& server, Options options)
    : loop_(loop), reaper_(reaper), server_(server), options_(std::move(options)) {}

MetricsEndpoint::~MetricsEndpoint() { stop(); }

void MetricsEndpoint::start() {
  stopping_ = false;
  token_ = random_token();
  if (token_.empty()) {
    log_error("metrics endpoint: getrandom: {}; DROVE_METRICS_ADDR is not served", std::strerror(errno));
    last_exit_ = "no random token (getrandom failed)";
    return;
  }
  // A unique temporary file renamed over the old one: a link planted at the name is replaced,
  // never written through; 0600 whatever the umask.
  if (!options_.token_path.empty()) {
    if (auto written = write_file_atomically(options_.token_path, token_ + "\n", 0600, /*sync=*/false,
                                             /*create_dirs=*/false);
        !written) {
      log_error("metrics endpoint: cannot write the dashboard's token: {}; `drove web` cannot print its URL",
                written.error().message());
    }
  }
  launch();
}

void MetricsEndpoint::stop() {
  stopping_ = true;
  retry_.stop();
  if (pid_ != 0) ::kill(pid_, SIGTERM);  // our unreaped child: the pid is its own
  if (!token_.empty() && !options_.token_path.empty()) {
    token_.clear();
    if (auto removed = remove_file(options_.token_path); !removed) {
      log_warn("metrics endpoint: {}", removed.error().message());
    }
  }
}

void MetricsEndpoint::launch() {
  if (stopping_ || pid_ != 0) return;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    on_exit(std::string("socketpair: ") + std::strerror(errno));
    return;
  }
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  // The token through a pipe: 65 bytes fit in its buffer, so the write never blocks.
  int token_pipe[2];
  if (::pipe2(token_pipe, O_CLOEXEC) != 0) {
    on_exit(std::string("pipe: ") + std::strerror(errno));
    return;
  }
  UniqueFd token_read(token_pipe[0]);
  {
    UniqueFd token_write(token_pipe[1]);
    const std::string line = token_ + "\n";
    if (::write(token_write.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      on_exit(std::string("writing the token: ") + std::strerror(errno));
      return;
    }
  }
  std::vector<std::string> argv = {"drove-web", "--listen", options_.address, "--rpc-fd", "3", "--token-fd", "4"};
  if (options_.allow_remote) argv.emplace_back("--allow-remote");
  if (::geteuid() == 0) argv.insert(argv.end(), {"--user", "nobody"});
  std::vector<std::string> env;
  for (const char* keep : {"PATH", "LANG", "TZ"}) {
    if (const char* value = std::getenv(keep)) env.push_back(std::string(keep) + "=" + value);
  }
  process::SpawnOptions spawn{
      .file = options_.program,
      .argv = argv,
      .env = env,
      .cwd = "/",
      .fds = {{1, STDOUT_FILENO}, {2, STDERR_FILENO}, {3, theirs.get()}, {4, token_read.get()}}};
  auto pid = process::spawn(spawn);
  if (!pid.ok()) {
    if (pid.error().code == ENOENT || pid.error().code == EACCES) {
      // Not installed (a build without cpp-httplib, a container image without it): say so once.
      last_exit_ = pid.error().message();
      log_error("metrics endpoint: cannot run {}: {}; DROVE_METRICS_ADDR is not served", options_.program,
                pid.error().message());
      return;
    }
    on_exit(pid.error().message());
    return;
  }
  theirs.reset();
  token_read.reset();
  if (auto s = server_.adopt(std::move(ours), kEndpointPolicy); !s.ok()) {
    log_warn("metrics endpoint: {}", s.error().message());
    ::kill(pid.value(), SIGTERM);
  }
  pid_ = pid.value();
  started_mono_ms_ = monotonic_ms();
  log_info("metrics endpoint: drove-web (pid {}) serves http://{}/metrics and the dashboard (`drove web`)", pid_,
           options_.address);
  reaper_.watch(pid_, [this](process::ExitStatus status) {
    pid_ = 0;
    if (status.code == kConfigError && !status.killed_by_signal()) {
      // A setting no restart can fix (its reason is drove-web's last line in drove.log).
      last_exit_ = "refused its settings (see drove.log)";
      log_error("metrics endpoint: drove-web refused DROVE_METRICS_ADDR='{}'; not restarting it", options_.address);
      return;
    }
    on_exit(status.describe());
  });
}

void MetricsEndpoint::on_exit(const std::string& how) {
  last_exit_ = how;
  if (stopping_) return;
  // drove-web says why it ended on its stderr (drove.log): a port in use, a remote address.
  const bool stable = started_mono_ms_ != 0 && monotonic_ms() - started_mono_ms_ >= kStableMs;
  restarts_ = stable ? 1 : restarts_ + 1;
  const std::int64_t delay = std::min<std::int64_t>(kMaxBackoffMs, 500LL << std::min(restarts_ - 1, 6));
  log_warn("metrics endpoint: drove-web ended ({}); starting it again in {} ms", how, delay);
  retry_.start(
      loop_, static_cast<std::uint64_t>(delay), 0, [this] { launch(); }, /*keeps_loop_alive=*/false);
}

nlohmann::json MetricsEndpoint::describe() const {
  return {{"address", options_.address},
          {"pid", pid_},
          {"restarts", restarts_},
          {"last_exit", last_exit_.empty() ? nlohmann::json() : nlohmann::json(last_exit_)}};
}

}  // namespace drove::daemon
