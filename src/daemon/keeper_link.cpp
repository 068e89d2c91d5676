#include "daemon/keeper_link.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include "base/json_limits.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "keeper/protocol.hpp"

namespace drove::daemon {

namespace {
constexpr std::size_t kMaxStateBytes = 256u << 20;
}

KeeperLink::KeeperLink(uv_loop_t* loop, UniqueFd sock, std::string state_path)
    : loop_(loop), sock_(std::move(sock)), state_path_(std::move(state_path)) {}

Result<std::unique_ptr<KeeperLink>> KeeperLink::open(uv_loop_t* loop, UniqueFd sock, std::string state_path) {
  std::unique_ptr<KeeperLink> link(new KeeperLink(loop, std::move(sock), std::move(state_path)));
  for (;;) {
    keeper::Record record;
    UniqueFd fd;
    const auto got = keeper::receive_record(link->sock_.get(), record, fd, /*nonblocking=*/false);
    if (got == keeper::Received::bad)
      return SysError{EPROTO, "the keeper speaks another protocol than this daemon (version " +
                                  std::to_string(keeper::kProtocol) + ")"};
    if (got != keeper::Received::record) return SysError{ECONNRESET, "the keeper closed the link while handing back"};
    if (record.op == keeper::Op::held_end) break;
    if (record.op != keeper::Op::held || !fd) continue;
    link->held_[record.token] = static_cast<pid_t>(record.a);
    link->handed_[record.token] = {std::move(fd), static_cast<pid_t>(record.a), static_cast<std::uint64_t>(record.b)};
  }
  return link;
}

void KeeperLink::start(OnExited on_exited, std::function<void()> on_lost) {
  on_exited_ = std::move(on_exited);
  on_lost_ = std::move(on_lost);
  if (!sock_) return;
  poll_ = UvHandle<uv_poll_t>::make();
  uv_poll_init(loop_, poll_.get(), sock_.get());
  poll_->data = this;
  uv_poll_start(poll_.get(), UV_READABLE | UV_DISCONNECT, [](uv_poll_t* h, int, int) {
    loop_barrier("keeper link", [h] {
      if (auto* self = owner_of<KeeperLink>(h)) self->on_readable();
    });
  });
  uv_unref(poll_.handle());
}

std::map<std::uint64_t, supervisor::Supervisor::HandedFd> KeeperLink::take_handed() { return std::move(handed_); }

void KeeperLink::on_readable() {
  for (;;) {
    keeper::Record record;
    UniqueFd fd;
    const auto got = keeper::receive_record(sock_.get(), record, fd, /*nonblocking=*/true);
    if (got == keeper::Received::again) return;
    if (got != keeper::Received::record) return lost();
    if (record.op == keeper::Op::exited && on_exited_)
      on_exited_(static_cast<pid_t>(record.a), static_cast<int>(record.b));
  }
}

void KeeperLink::lost() {
  if (!sock_) return;
  log_error("the keeper is gone: the apps keep running, but a crash of this daemon would now take them with it");
  poll_.close();
  sock_.reset();
  held_.clear();
  if (on_lost_) on_lost_();
}

void KeeperLink::sync(const supervisor::Supervisor::KeptState& kept) {
  if (sock_) {
    std::set<std::uint64_t> wanted;
    for (const auto& fd : kept.fds) {
      wanted.insert(fd.token);
      if (held_.count(fd.token)) continue;
      const keeper::Record hold{
          .op = keeper::Op::hold, .token = fd.token, .a = fd.pid, .b = static_cast<std::int64_t>(fd.start)};
      if (!keeper::send_record(sock_.get(), hold, fd.fd)) return lost();
      held_[fd.token] = fd.pid;
    }
    for (auto it = held_.begin(); it != held_.end();) {
      if (wanted.count(it->first)) {
        ++it;
        continue;
      }
      if (!keeper::send_record(sock_.get(), {.op = keeper::Op::drop, .token = it->first})) return lost();
      it = held_.erase(it);
    }
  }
  nlohmann::json state = kept.state;
  state["drove_version"] = DROVE_VERSION;
  // For the test of a refused `update` only: a state this binary's successor cannot read.
  if (const char* forced = std::getenv("DROVE_TEST_STATE_VERSION"); forced != nullptr && *forced != '\0')
    state["state_version"] = std::atoi(forced);
  std::string text = state.dump();
  if (text == written_) return;
  // Read only by our successor after this process died: no fsync (a host crash takes the apps
  // anyway; `save` is for that). The rename makes each version whole.
  const std::string tmp = state_path_ + ".tmp";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) {
    log_warn("cannot write {}: {}", tmp, std::strerror(errno));
    return;
  }
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(out.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log_warn("cannot write {}: {}", tmp, std::strerror(errno));
      return;
    }
    done += static_cast<std::size_t>(n);
  }
  out.reset();
  if (::rename(tmp.c_str(), state_path_.c_str()) != 0) {
    log_warn("cannot rename {}: {}", tmp, std::strerror(errno));
    return;
  }
  written_ = std::move(text);
}

void KeeperLink::ready() {
  if (sock_) (void)keeper::send_record(sock_.get(), {.op = keeper::Op::ready});
}

void KeeperLink::bye() {
  if (sock_) (void)keeper::send_record(sock_.get(), {.op = keeper::Op::bye});
}

Result<nlohmann::json> read_state_file(const std::string& path) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return last_error("read " + path);
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_error("read " + path);
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxStateBytes) return SysError{EFBIG, path + ": larger than 256 MiB"};
  }
  auto state = nlohmann::json::parse(text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return SysError{EINVAL, path + ": not a drove state (not JSON)"};
  const int version = state.value("state_version", 0);
  if (version != supervisor::Supervisor::kStateVersion) {
    return SysError{EPROTO, path + " was written by drove " + state.value("drove_version", std::string("?")) +
                                " in state version " + std::to_string(version) +
                                "; this drove " DROVE_VERSION " reads version " +
                                std::to_string(supervisor::Supervisor::kStateVersion)};
  }
  return state;
}

}  // namespace drove::daemon
