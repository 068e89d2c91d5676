// Surviving the daemon (docs/architecture.md, "Surviving the daemon"): what a daemon leaves for
// its successor, and the successor taking every running app back.
//
// kept_state() describes every app and run as JSON (the state file) and lists every descriptor
// the daemon holds for them, each named by a token made of its inode, so the keeper's copy and
// the state file name the same object whatever descriptor number it had. adopt() rebuilds apps,
// instances and runs from that description and the descriptors the keeper handed back: the
// output pipes are drained again, the IPC channels read again, the listening sockets accepted
// on again, and Node workers joined to their servers again, without the workers noticing.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "process/proc_table.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {

using nlohmann::json;

namespace {

// The kernel object behind a descriptor: the same from any process that holds it.
std::uint64_t token_of(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) return 0;
  return (static_cast<std::uint64_t>(minor(st.st_dev) & 0xffff) << 48) | (st.st_ino & ((1ULL << 48) - 1));
}

const char* kind_name(cluster::SocketKind kind) {
  switch (kind) {
    case cluster::SocketKind::unix_path:
      return "unix";
    case cluster::SocketKind::udp:
      return "udp";
    case cluster::SocketKind::tcp:
      break;
  }
  return "tcp";
}

cluster::SocketKind kind_from(const std::string& name) {
  if (name == "unix") return cluster::SocketKind::unix_path;
  if (name == "udp") return cluster::SocketKind::udp;
  return cluster::SocketKind::tcp;
}

json request_json(const cluster::ListenRequest& r) {
  json j = {{"kind", kind_name(r.kind)},
            {"port", r.port},
            {"ipv6_only", r.ipv6_only},
            {"reuse_port", r.reuse_port},
            {"udp_reuse_addr", r.udp_reuse_addr},
            {"nonblocking", r.nonblocking},
            {"backlog", r.backlog},
            {"readable_all", r.readable_all},
            {"writable_all", r.writable_all}};
  if (r.address) j["address"] = *r.address;
  return j;
}

cluster::ListenRequest request_from(const json& j) {
  cluster::ListenRequest r;
  r.kind = kind_from(j.value("kind", "tcp"));
  if (j.contains("address") && j["address"].is_string()) r.address = j["address"].get<std::string>();
  r.port = j.value("port", 0);
  r.ipv6_only = j.value("ipv6_only", false);
  r.reuse_port = j.value("reuse_port", false);
  r.udp_reuse_addr = j.value("udp_reuse_addr", false);
  r.nonblocking = j.value("nonblocking", true);
  r.backlog = j.value("backlog", 511);
  r.readable_all = j.value("readable_all", false);
  r.writable_all = j.value("writable_all", false);
  return r;
}

json listener_json(const std::string& key, const cluster::SocketTable::Entry& entry, int slot,
                   const cluster::Listener& l) {
  return {{"key", key},
          {"request", request_json(entry.request)},
          {"activation", entry.activation},
          {"slot", slot},
          {"token", token_of(l.fd.get())},
          {"kind", kind_name(l.kind)},
          {"address", l.address},
          {"family", l.family},
          {"port", l.port}};
}

}  // namespace

Supervisor::KeptState Supervisor::kept_state() {
  KeptState kept;
  auto keep = [&kept](int fd, pid_t pid, std::uint64_t start) -> std::uint64_t {
    const std::uint64_t token = token_of(fd);
    if (token != 0) kept.fds.push_back({token, fd, pid, start});
    return token;
  };
  std::map<const cluster::ClusterPrimary*, int> primary_index;
  json primaries = json::array();
  json apps = json::array();
  for (const auto& [name, app] : apps_) {
    json a = {{"spec", app->spec}, {"primary", -1}};
    if (const auto* primary = app->primary.get()) {
      auto [it, fresh] = primary_index.emplace(primary, static_cast<int>(primaries.size()));
      if (fresh) {
        json listeners = json::array();
        for (const auto& [key, entry] : primary->table().entries()) {
          if (entry->listener.fd.valid()) {
            listeners.push_back(listener_json(key, *entry, -1, entry->listener));
            keep(entry->listener.fd.get(), 0, 0);
          }
          for (const auto& [slot, listener] : entry->slots) {
            listeners.push_back(listener_json(key, *entry, slot, listener));
            keep(listener.fd.get(), 0, 0);
          }
        }
        primaries.push_back({{"listeners", std::move(listeners)}});
      }
      a["primary"] = it->second;
    }
    json instances = json::array();
    for (const Instance* instance : app->instances) {
      json i = {{"id", instance->id},
                {"index", instance->index},
                {"state", to_string(instance->state)},
                {"created_at_ms", instance->created_at_ms},
                {"restart_time", instance->restart_time},
                {"last_error", instance->last_error},
                {"stop_requested", instance->stop_requested}};
      // Replacements and retiring runs of a reload cut short are stopped by the next daemon.
      json strays = json::array();
      auto stray = [&strays](Run* run) {
        if (run && run->pid != 0) {
          if (run->start_ticks == 0) run->start_ticks = process::start_ticks_of(run->pid);
          strays.push_back({{"pid", run->pid}, {"start_ticks", run->start_ticks}, {"marker", run->marker}});
        }
      };
      stray(instance->incoming.get());
      for (const auto& r : instance->retiring) stray(r.get());
      if (Run* run = instance->run.get(); run && run->pid != 0 && run->terminating) stray(run);
      if (Run* run = instance->run.get(); run && run->pid != 0 && !run->terminating) {
        if (run->start_ticks == 0) run->start_ticks = process::start_ticks_of(run->pid);
        json r = {{"worker_id", run->worker_id},
                  {"pid", run->pid},
                  {"start_ticks", run->start_ticks},
                  {"started_at_ms", run->started_at_ms},
                  // The system-wide monotonic clock (the state is read on this boot only): a
                  // figure that does not change each second, so an idle host's state is not
                  // rewritten each second.
                  {"started_mono_ms", run->started_mono_ms},
                  {"marker", run->marker},
                  {"ready", run->ready},
                  {"said_ready", run->said_ready},
                  {"said_online", run->said_online},
                  {"cgroup", run->cgroup ? run->cgroup->path() : std::string()}};
        if (run->output) {
          const auto [out, err] = run->output->pipe_fds();
          r["out"] = keep(out, run->pid, run->start_ticks);
          r["err"] = keep(err, run->pid, run->start_ticks);
        }
        if (run->channel && run->channel->is_open())
          r["channel"] = keep(run->channel->fd(), run->pid, run->start_ticks);
        if (run->stdin_writer) r["stdin"] = keep(run->stdin_writer->fd(), run->pid, run->start_ticks);
        if (app->primary) {
          if (auto worker = app->primary->worker_state(run->worker_id)) {
            r["worker"] = {{"keys", worker->keys}, {"listening", worker->listening}, {"online", worker->online}};
          }
        }
        i["run"] = std::move(r);
      }
      i["strays"] = std::move(strays);
      instances.push_back(std::move(i));
    }
    a["instances"] = std::move(instances);
    apps.push_back(std::move(a));
  }
  kept.state = {{"state_version", kStateVersion},
                {"daemon_pid", ::getpid()},
                {"next_worker_id", next_worker_id_},
                {"apps", std::move(apps)},
                {"primaries", std::move(primaries)}};
  return kept;
}

std::string Supervisor::adopt(const json& state, std::map<std::uint64_t, HandedFd>& fds) {
  auto take = [&fds](const json& r, const char* field) -> UniqueFd {
    if (!r.contains(field) || !r[field].is_number_unsigned()) return {};
    auto it = fds.find(r[field].get<std::uint64_t>());
    if (it == fds.end()) return {};
    UniqueFd fd = std::move(it->second.fd);
    fds.erase(it);
    return fd;
  };
  next_worker_id_ = std::max(next_worker_id_, state.value("next_worker_id", 1));
  int adopted = 0, restarted = 0, stopped_strays = 0;
  std::map<int, cluster::ClusterPrimary*> primaries;
  const json& primary_list = state.contains("primaries") ? state["primaries"] : json::array();
  for (const json& a : state.value("apps", json::array())) {
    App* raw = &register_app(a.at("spec").get<AppSpec>());
    const int index = a.value("primary", -1);
    if (raw->primary && index >= 0 && index < static_cast<int>(primary_list.size()) && !primaries.count(index)) {
      primaries[index] = raw->primary.get();
      for (const json& l : primary_list[static_cast<std::size_t>(index)].value("listeners", json::array())) {
        UniqueFd fd = take(l, "token");
        if (!fd) continue;
        cluster::Listener listener;
        listener.fd = std::move(fd);
        listener.kind = kind_from(l.value("kind", "tcp"));
        listener.address = l.value("address", "");
        listener.family = l.value("family", 0);
        listener.port = l.value("port", 0);
        raw->primary->adopt_socket(l.value("key", ""), request_from(l.value("request", json::object())),
                                   l.value("activation", false), l.value("slot", -1), std::move(listener));
      }
    }
    for (const json& i : a.value("instances", json::array())) {
      const int id = i.value("id", -1);
      if (id < 0 || instances_.count(id)) continue;
      claim_id(id);
      auto owned = std::make_unique<Instance>();
      Instance& instance = *owned;
      instance.id = id;
      instance.index = i.value("index", 0);
      instance.app = raw;
      instance.restart_timer.init(loop_);
      instance.usage_history.set_capacity(paths_.history_samples);
      instance.created_at_ms = i.value("created_at_ms", std::int64_t{0});
      instance.restart_time = i.value("restart_time", 0);
      instance.last_error = i.value("last_error", "");
      assign_log_paths(instance);
      raw->instances.push_back(&instance);
      instances_.emplace(id, std::move(owned));

      for (const json& s : i.value("strays", json::array())) {
        if (stop_stray(s.value("pid", 0), s.value("start_ticks", std::uint64_t{0}))) ++stopped_strays;
      }
      const std::string was = i.value("state", "stopped");
      if (!i.contains("run")) {
        if (was == "errored") instance.state = InstanceState::errored;
        if (was == "online" || was == "launching" || was == "waiting restart") {
          ++instance.restart_time;
          queue_start(instance);
          ++restarted;
        }
        continue;
      }
      const json& r = i["run"];
      const pid_t pid = r.value("pid", 0);
      const std::uint64_t start = r.value("start_ticks", std::uint64_t{0});
      UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
      // Open first, then check: a pid recycled after the check cannot be the one the pidfd names.
      const bool alive = pid > 0 && pidfd && start != 0 && process::start_ticks_of(pid) == start;
      UniqueFd out = take(r, "out"), err = take(r, "err"), channel = take(r, "channel"), in = take(r, "stdin");
      if (!alive || !out || !err) {
        log_warn("{}:{} (pid {}) ended while no daemon ran: starting it again", raw->spec.name, id, pid);
        if (alive) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
        ++instance.restart_time;
        queue_start(instance);
        ++restarted;
        continue;
      }
      auto run = std::make_unique<Run>();
      Run* adopted_run = run.get();
      run->worker_id = r.value("worker_id", 0);
      run->instance = &instance;
      run->timer.init(loop_);
      run->probe.init(loop_);
      run->pid = pid;
      run->group = pid;
      run->pidfd = std::move(pidfd);
      run->marker = r.value("marker", "");
      run->start_ticks = start;
      run->started_at_ms = r.value("started_at_ms", std::int64_t{0});
      // uptime_ms: how earlier builds wrote it (a state handed over by `update`).
      run->started_mono_ms = r.contains("started_mono_ms") ? r.value("started_mono_ms", std::int64_t{0})
                                                           : monotonic_ms() - r.value("uptime_ms", std::int64_t{0});
      run->said_ready = r.value("said_ready", false);
      run->said_online = r.value("said_online", false);
      run->main_script_ran = true;
      if (const std::string cgroup = r.value("cgroup", ""); !cgroup.empty() && ::access(cgroup.c_str(), F_OK) == 0)
        run->cgroup = std::make_unique<process::RunCgroup>(cgroup, UniqueFd());
      run->output = logs_.attach(instance.output_spec, std::move(out), std::move(err));
      if (in) {
        auto writer = StdinWriter::open(loop_, std::move(in));
        if (writer.ok()) run->stdin_writer = std::move(writer.value());
      }
      reaper_.watch(pid, [this, adopted_run](process::ExitStatus status) { on_run_exit(*adopted_run, status); });
      instance.run = std::move(run);
      if (channel) open_channel(*adopted_run, std::move(channel));
      if (raw->primary && r.contains("worker") && adopted_run->channel) {
        const json& w = r["worker"];
        cluster::ClusterPrimary::WorkerState worker;
        for (const auto& key : w.value("keys", json::array())) worker.keys.insert(key.get<std::string>());
        for (const auto& key : w.value("listening", json::array())) worker.listening.insert(key.get<std::string>());
        worker.online = w.value("online", false);
        raw->primary->adopt_worker(adopted_run->worker_id, worker);
      }
      transition(instance, InstanceEvent::start);
      if (r.value("ready", false))
        mark_ready(*adopted_run);
      else
        arm_readiness(*adopted_run);
      ++adopted;
    }
    start_triggers(*raw);
  }
  // Descriptors the state does not name belong to runs started just before the previous daemon
  // died, before it wrote its state: their processes are stopped (they are nobody's now).
  for (auto& [token, handed] : fds) {
    if (handed.pid > 0 && stop_stray(handed.pid, handed.start)) ++stopped_strays;
  }
  fds.clear();
  return fmt::format("{} running instance(s) taken back, {} started again, {} stray process(es) stopped", adopted,
                     restarted, stopped_strays);
}

void Supervisor::watch_adopted_runs_without_keeper() {
  int watched = 0;
  for (const auto& [name, app] : apps_) {
    for (const Instance* instance : app->instances) {
      const Run* run = instance->run.get();
      if (run == nullptr || !run->pidfd || !reaper_.watching(run->pid)) continue;
      reaper_.watch_without_parent(run->pid, run->pidfd.get());
      ++watched;
    }
  }
  if (watched > 0)
    log_warn("{} process(es) a previous daemon started are watched through pidfds: their exit status is unknown",
             watched);
}

// A process of ours nobody will manage: SIGTERM now, SIGKILL in 5 s, through a pidfd opened
// after checking its start time (it is the keeper's child; the keeper reaps it).
bool Supervisor::stop_stray(pid_t pid, std::uint64_t start_ticks) {
  if (pid <= 0 || start_ticks == 0) return false;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd || process::start_ticks_of(pid) != start_ticks) return false;
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0) != 0) return false;
  log_warn("stray process {} (started by a previous daemon, not in its state): SIGTERM, SIGKILL in 5 s", pid);
  auto timer = std::make_shared<ActionTimer>();
  timer->init(loop_);
  auto shared_fd = std::make_shared<UniqueFd>(std::move(pidfd));
  timer->start(5000, [timer, shared_fd] {
    ::syscall(SYS_pidfd_send_signal, shared_fd->get(), SIGKILL, nullptr, 0);
    timer->cancel();
  });
  stray_timers_.push_back(std::move(timer));
  return true;
}

std::size_t Supervisor::freeze_accepting() {
  std::size_t held = 0;
  std::set<const cluster::ClusterPrimary*> seen;
  for (auto& [name, app] : apps_) {
    if (!app->primary || !seen.insert(app->primary.get()).second) continue;
    app->primary->freeze();
    held += app->primary->held_connections();
  }
  return held;
}

void Supervisor::claim_id(int id) {
  if (id >= next_id_) {
    for (int free = next_id_; free < id; ++free) released_ids_.insert(free);
    next_id_ = id + 1;
  } else {
    released_ids_.erase(id);
  }
}

}  // namespace drove::supervisor
