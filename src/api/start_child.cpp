// spawn() and fork(): the stdio plan, the IPC channel on fd 3, and the engine's spawn().
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "api/channel_impl.hpp"
#include "api/child_state.hpp"
#include "process/spawn.hpp"

extern char** environ;

namespace drove {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Node's channel variables never leak into a child that is not given a channel.
constexpr const char* kChannelVariables[] = {"NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE", "NODE_UNIQUE_ID"};

}  // namespace

Environment current_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  return env;
}

Result<Child> start_child(EventLoop& loop, const std::string& file, std::vector<std::string> argv,
                          const SpawnOptions& options, bool channel, const Environment& extra_env) {
  Environment env = options.env ? *options.env : current_environment();
  for (const char* name : kChannelVariables) env.erase(name);
  for (const auto& [key, value] : extra_env) env[key] = value;

  process::SpawnOptions spawn_options{.file = file,
                                      .argv = std::move(argv),
                                      .env = {},
                                      .cwd = options.cwd,
                                      .fds = {},
                                      .new_session = options.detached,
                                      .set_listen_pid = false,
                                      .uid = options.uid,
                                      .gid = options.gid};
  UniqueFd parent_ends[3];
  std::vector<UniqueFd> child_ends;  // closed here once the child has them
  for (int i = 0; i < 3; ++i) {
    const Stdio& s = options.stdio[static_cast<std::size_t>(i)];
    switch (s.kind) {
      case Stdio::Kind::pipe: {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return last_error("pipe");
        UniqueFd read_end(p[0]), write_end(p[1]);
        if (i == 0) {
          spawn_options.fds.push_back({0, read_end.get()});
          parent_ends[0] = std::move(write_end);
          child_ends.push_back(std::move(read_end));
        } else {
          spawn_options.fds.push_back({i, write_end.get()});
          parent_ends[i] = std::move(read_end);
          child_ends.push_back(std::move(write_end));
        }
        break;
      }
      case Stdio::Kind::inherit:
        spawn_options.fds.push_back({i, i});
        break;
      case Stdio::Kind::ignore: {
        UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!null) return last_error("open /dev/null");
        spawn_options.fds.push_back({i, null.get()});
        child_ends.push_back(std::move(null));
        break;
      }
      case Stdio::Kind::fd:
        spawn_options.fds.push_back({i, s.fd});
        break;
    }
  }
  UniqueFd channel_ours;
  if (channel) {
    auto pair = Channel::make_pair();
    if (!pair.ok()) return pair.error();
    channel_ours = std::move(pair->first);
    spawn_options.fds.push_back({3, pair->second.get()});
    child_ends.push_back(std::move(pair->second));
    env["NODE_CHANNEL_FD"] = "3";
    env["NODE_CHANNEL_SERIALIZATION_MODE"] = "json";
  }
  for (const auto& [key, value] : env) spawn_options.env.push_back(key + "=" + value);

  auto pid = process::spawn(spawn_options);
  if (!pid.ok()) return pid.error();
  child_ends.clear();

  auto state = std::make_shared<Child::State>();
  state->core = &loop.core();
  state->pid = pid.value();
  if (channel_ours) {
    auto ch = Channel::open(loop, std::move(channel_ours));
    if (ch.ok()) {
      state->channel = std::make_unique<Channel>(std::move(ch.value()));
      Child::State* raw = state.get();
      state->channel->impl()->on_closed_internal = [raw] { raw->maybe_close(); };
    }
  }
  state->start(state, std::move(parent_ends[1]), std::move(parent_ends[2]), std::move(parent_ends[0]));
  return ChildAccess::make(std::move(state));
}

Result<Child> spawn(EventLoop& loop, const std::string& file, const std::vector<std::string>& args,
                    SpawnOptions options) {
  std::vector<std::string> argv{file};
  argv.insert(argv.end(), args.begin(), args.end());
  return start_child(loop, file, std::move(argv), options, false, {});
}

Result<Child> fork(EventLoop& loop, const std::string& module, const std::vector<std::string>& args,
                   ForkOptions options) {
  std::string program = options.exec_path;
  if (program.empty() && (ends_with(module, ".js") || ends_with(module, ".mjs") || ends_with(module, ".cjs"))) {
    program = "node";
  }
  std::vector<std::string> argv;
  if (program.empty()) {
    program = module;
    argv.push_back(module);
  } else {
    argv.push_back(program);
    argv.insert(argv.end(), options.exec_args.begin(), options.exec_args.end());
    argv.push_back(module);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return start_child(loop, program, std::move(argv), options.spawn, true, {});
}

}  // namespace drove
