#include "daemon/methods.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include <map>

#include "base/clock.hpp"
#include "base/json_limits.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "base/uv_handle.hpp"
#include "daemon/metrics_endpoint.hpp"
#include "daemon/metrics_text.hpp"
#include "daemon/process_json.hpp"
#include "process/exit_status.hpp"
#include "state/dump.hpp"
#include "supervisor/spec_validator.hpp"

namespace drove::daemon {
namespace {

// `drove metrics`: the daemon's own figures read now, the instances' from their last sample.
std::string metrics_now(MethodContext& ctx) {
  DaemonFigures daemon{.version = DROVE_VERSION, .pid = ::getpid()};
  long pages = 0;
  if (std::FILE* statm = std::fopen("/proc/self/statm", "re")) {
    long size = 0;
    if (std::fscanf(statm, "%ld %ld", &size, &pages) != 2) pages = 0;
    std::fclose(statm);
  }
  daemon.resident_bytes = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::error_code ignored;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ignored);
       it != std::filesystem::directory_iterator(); it.increment(ignored)) {
    ++daemon.open_fds;
  }
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    daemon.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  if (ctx.loop_meter != nullptr) {
    const auto loop = ctx.loop_meter->to_json();
    daemon.loop_turns = loop.value("turns", std::uint64_t{0});
    daemon.loop_recent_longest_turn_seconds = loop.value("recent_longest_turn_ms", 0.0) / 1000.0;
  }
  daemon.contained_errors = contained_exceptions().load(std::memory_order_relaxed);

  MetricsInput in{.daemon = std::move(daemon), .now_ms = wall_ms()};
  auto& processes = in.processes;
  auto& listeners = in.listeners;
  auto& autoscaled = in.autoscaled;
  auto& workers = in.workers;
  auto& reloads = in.reloads;
  std::set<const supervisor::App*> apps;
  for (const supervisor::Instance* instance : ctx.supervisor.instances()) {
    processes.push_back(ctx.supervisor.row(*instance));
    const supervisor::App* app = instance->app;
    if (app->primary && instance->run) {
      const auto worker = app->primary->describe_worker(instance->run->worker_id);
      if (!worker.empty()) {
        workers.push_back({.process = processes.back(),
                           .handed = worker.value("handed", std::uint64_t{0}),
                           .in_flight = worker.value("in_flight", std::uint64_t{0}),
                           .open_connections = worker.value("open_connections", std::uint64_t{0})});
      }
    }
    if (!apps.insert(app).second) continue;
    if (app->reloads_done + app->reloads_aborted > 0) {
      reloads.push_back({.app = app->spec.name,
                         .namespace_name = app->spec.namespace_name,
                         .done = app->reloads_done,
                         .aborted = app->reloads_aborted,
                         .last_ms = app->last_reload_ms});
    }
    if (const auto& a = app->spec.autoscale) {
      const auto& state = app->autoscaling;
      autoscaled.push_back({.app = app->spec.name,
                            .namespace_name = app->spec.namespace_name,
                            .metric = to_string(a->metric),
                            .instances = static_cast<int>(app->instances.size()),
                            .recommended = state.recommended,
                            .min_instances = a->min_instances,
                            .max_instances = a->max_instances,
                            .target = a->target,
                            .signal = state.signal.available ? std::optional(state.signal.value) : std::nullopt,
                            .paused = a->paused,
                            .ups = state.ups,
                            .downs = state.downs});
    }
    if (app->primary == nullptr) continue;
    for (const auto& server : app->primary->describe().value("servers", nlohmann::json::array())) {
      listeners.push_back({.app = app->spec.name,
                           .namespace_name = app->spec.namespace_name,
                           .address = server.value("address", ""),
                           .port = server.value("port", 0),
                           .accepted = server.value("accepted", std::uint64_t{0}),
                           .accept_queue = server.value("accept_queue", std::uint64_t{0})});
    }
  }
  return metrics_text(in);
}

using supervisor::Instance;
using supervisor::InstanceState;

std::vector<std::string> targets_of(const nlohmann::json& params) {
  std::vector<std::string> out;
  if (auto it = params.find("targets"); it != params.end() && it->is_array()) {
    for (const auto& t : *it) out.push_back(t.is_string() ? t.get<std::string>() : t.dump());
  }
  return out;
}

// Resolves the request's targets, or replies with the error and returns false.
bool resolve(MethodContext& ctx, const nlohmann::json& params, const RpcReply& reply, std::vector<Instance*>& out) {
  auto targets = targets_of(params);
  if (targets.empty()) {
    reply.error(ErrorCode::invalid, "no target given (an id, a name, a namespace or 'all')");
    return false;
  }
  auto resolved = ctx.supervisor.resolve(targets, params.value("cwd", ""));
  if (!resolved) {
    reply.error(resolved.error());
    return false;
  }
  out = std::move(resolved).value();
  return true;
}

// `env` (--update-env: the caller's shell) and then `declared_envs` (per app name, what an
// ecosystem file declares) are laid over the apps' environments; each is checked first.
CommandResult<supervisor::EnvUpdate> env_update_of(const nlohmann::json& params) {
  supervisor::EnvUpdate update;
  if (auto it = params.find("env"); it != params.end() && it->is_object()) {
    update.shell = it->get<std::map<std::string, std::string>>();
    if (auto why = supervisor::check_env("--update-env", *update.shell)) return CommandError{ErrorCode::invalid, *why};
  }
  if (auto it = params.find("declared_envs"); it != params.end() && it->is_object()) {
    for (const auto& [name, env] : it->items()) {
      auto vars = env.get<std::map<std::string, std::string>>();
      if (auto why = supervisor::check_env(name, vars)) return CommandError{ErrorCode::invalid, *why};
      update.declared[name] = std::move(vars);
    }
  }
  return update;
}

// restart/reload with `renames` ({old: new}, PM2's `restart app --name new`): the apps are
// renamed, and the targets naming an old name name the new one.
CommandStatus apply_renames(MethodContext& ctx, nlohmann::json& params) {
  for (const auto& [from, to] : params.at("renames").items()) {
    if (auto renamed = ctx.supervisor.rename_app(from, to.get<std::string>()); !renamed) return renamed;
    if (auto targets = params.find("targets"); targets != params.end() && targets->is_array()) {
      for (auto& target : *targets) {
        if (target == from) target = to;
      }
    }
  }
  return Ok{};
}

// restart/reload with `specs`: the apps' options are replaced first (PM2's restart with options).
CommandStatus replace_specs(MethodContext& ctx, const nlohmann::json& params) {
  if (!params.contains("specs")) return Ok{};
  for (const auto& s : params.at("specs")) {
    if (auto replaced = ctx.supervisor.replace_spec(s.get<AppSpec>()); !replaced) return replaced;
  }
  return Ok{};
}

// Calls `check` every 10 ms until it returns true (then the poller frees itself).
void poll_until(uv_loop_t* loop, std::function<bool()> check) {
  struct Poller {
    UvHandle<uv_timer_t> timer;
    std::function<bool()> check;
  };
  auto* poller = new Poller{UvHandle<uv_timer_t>::make(), std::move(check)};
  uv_timer_init(loop, poller->timer.get());
  poller->timer->data = poller;
  uv_timer_start(
      poller->timer.get(),
      [](uv_timer_t* t) {
        loop_barrier("request poller", [t] {
          auto* self = static_cast<Poller*>(t->data);
          if (self && self->check()) delete self;  // closes the timer
        });
      },
      10, 10);
}

nlohmann::json ids_of(const std::vector<Instance*>& instances) {
  nlohmann::json ids = nlohmann::json::array();
  for (const Instance* i : instances) ids.push_back(i->id);
  return ids;
}

// The instances' descriptions after a command completed (ids re-resolved: some may be gone).
// Decodes an AppSpec, moving the big strings of its environment out of the request instead of
// copying them: a start with a 15 MB environment copied it on the loop, page by page.
AppSpec take_spec(nlohmann::json& j) {
  constexpr std::size_t kMoveAbove = 4096;
  std::vector<std::pair<std::string, std::string>> moved;
  if (auto env = j.find("env"); env != j.end() && env->is_object()) {
    for (auto& [key, value] : env->items()) {
      if (!value.is_string() || value.get_ref<const std::string&>().size() <= kMoveAbove) continue;
      moved.emplace_back(key, std::move(value.get_ref<std::string&>()));
      value = std::string();
    }
  }
  AppSpec spec = j.get<AppSpec>();
  for (auto& [key, value] : moved) spec.env[key] = std::move(value);
  return spec;
}

// The instances' rows (row_json), by pm_id; ids deleted since are left out.
nlohmann::json describe_ids(MethodContext& ctx, const nlohmann::json& ids) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : ids) {
    if (const Instance* i = ctx.supervisor.find_instance(id.get<int>()))
      out.push_back(row_json(ctx.supervisor.row(*i)));
  }
  return out;
}

// Replies once none of these instances is launching any more: a command that starts
// processes returns when they are online (or have given up), as `start` does. Each launching
// instance settles by itself (ready, crash, or listen_timeout), so this ends.
void reply_when_settled(MethodContext& ctx, const RpcReply& reply, nlohmann::json ids,
                        const nlohmann::json& extra = nlohmann::json::object()) {
  const std::vector<int> id_list = ids.get<std::vector<int>>();
  auto settled = [&ctx, reply, ids, id_list, extra] {
    // Checked every 10 ms: by state, not by describing every instance (at 1,000 instances
    // describing them each time took half the loop's time while they were starting).
    if (ctx.supervisor.any_launching(id_list)) return false;
    nlohmann::json result = {{"ids", ids}, {"processes", describe_ids(ctx, ids)}};
    result.update(extra);
    reply.ok(std::move(result));
    return true;
  };
  if (!settled()) poll_until(ctx.loop, settled);
}

}  // namespace

void dispatch(MethodContext& ctx, RpcRequest& req, const RpcReply& reply) {
  // restart/reload may rewrite their targets (renames): they get a copy to work on.
  nlohmann::json params_copy;
  const bool rewrites = (req.method == "restart" || req.method == "reload") && req.params.contains("renames");
  if (rewrites) params_copy = req.params;
  const nlohmann::json& p = rewrites ? params_copy : req.params;
  if (rewrites) {
    try {
      if (auto renamed = apply_renames(ctx, params_copy); !renamed) return reply.error(renamed.error());
    } catch (const nlohmann::json::exception& e) {
      return reply.error(ErrorCode::invalid, std::string("bad parameters for '") + req.method + "': " + e.what());
    }
  }
  const std::string& m = req.method;
  try {
    if (m == "ping") {
      reply.ok(
          {{"pong", true},
           {"pid", ::getpid()},
           {"version", DROVE_VERSION},
           {"contained_errors", contained_exceptions().load(std::memory_order_relaxed)},
           // Live log readers (`drove logs`, drove runtime's stdout); "paused": one of them
           // is behind and every app's output waits for it (back-pressure).
           {"log_subscribers",
            {{"count", ctx.supervisor.logs().subscriber_count()},
             {"paused", ctx.supervisor.logs().subscribers_under_pressure()}}},
           {"loop", ctx.loop_meter ? ctx.loop_meter->to_json(p.value("loop_history", false)) : nlohmann::json(nullptr)},
           {"metrics_endpoint", ctx.metrics_endpoint ? ctx.metrics_endpoint->describe() : nlohmann::json()},
           {"keeper", ctx.keeper_info ? ctx.keeper_info() : nlohmann::json()},
           {"state_version", supervisor::Supervisor::kStateVersion}});
    } else if (m == "update") {
      auto handed = ctx.hand_over ? ctx.hand_over() : CommandStatus(CommandError{ErrorCode::invalid, "no keeper"});
      if (!handed) return reply.error(handed.error());
      reply.ok({{"pid", ::getpid()}, {"version", DROVE_VERSION}});
    } else if (m == "metrics") {
      reply.ok({{"text", metrics_now(ctx)}});
    } else if (m == "list") {
      // Built here; serialised on a pool thread (1,000 instances: hundreds of kilobytes).
      if (p.value("shared", false))
        reply.ok_off_loop(list_shared_json(ctx.supervisor));
      else
        reply.ok_off_loop(list_json(ctx.supervisor, p.value("full", false), p.value("history", false)));
    } else if (m == "start") {
      std::vector<AppSpec> specs;
      bool waits_for_ready = false;
      for (auto& s : req.params.at("apps")) {
        specs.push_back(take_spec(s));
        // Cluster instances too: their first table should say online only once they serve.
        waits_for_ready = waits_for_ready || specs.back().wait_ready || specs.back().exec_mode == ExecMode::cluster;
      }
      auto added = ctx.supervisor.add(std::move(specs), p.value("force", false));
      if (!added) return reply.error(added.error());
      const std::vector<int> id_list = std::move(added).value();
      nlohmann::json ids = id_list;
      if (!p.value("wait_ready", false) || !waits_for_ready) {
        // Answered once every instance has been launched (all but the first are queued).
        auto launched = [&ctx, reply, ids, id_list] {
          if (ctx.supervisor.starts_pending(id_list)) return false;
          reply.ok({{"ids", ids}, {"processes", describe_ids(ctx, ids)}});
          return true;
        };
        if (!launched()) poll_until(ctx.loop, launched);
        return;
      }
      // --wait-ready: answer once every new instance is ready, or when one gave up waiting.
      // Checked every 10 ms by state; the rows are built once, for the reply.
      poll_until(ctx.loop, [&ctx, reply, ids, id_list] {
        for (const int id : id_list) {
          const Instance* i = ctx.supervisor.find_instance(id);
          if (!i) continue;
          if (i->state == InstanceState::launching || i->state == InstanceState::waiting_restart) return false;
        }
        for (const int id : id_list) {
          const Instance* i = ctx.supervisor.find_instance(id);
          if (!i || !i->ready_timed_out) continue;
          reply.error(ErrorCode::timed_out, "'" + i->app->spec.name + "' (id " + std::to_string(id) + ") " +
                                                i->last_error + "; it keeps running and counts as online");
          return true;
        }
        reply.ok({{"ids", ids}, {"processes", describe_ids(ctx, ids)}});
        return true;
      });
    } else if (m == "start_existing") {
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      ctx.supervisor.start_existing(instances);
      reply_when_settled(ctx, reply, ids_of(instances));
    } else if (m == "stop" || m == "restart" || m == "delete") {
      auto update = env_update_of(p);
      if (!update) return reply.error(update.error());
      if (m == "restart") {
        if (auto replaced = replace_specs(ctx, p); !replaced) return reply.error(replaced.error());
      }
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      auto ids = ids_of(instances);
      auto done = [&ctx, reply, ids, restarted = m == "restart"] {
        if (restarted) return reply_when_settled(ctx, reply, ids);
        reply.ok({{"ids", ids}, {"processes", describe_ids(ctx, ids)}});
      };
      if (m == "stop") {
        ctx.supervisor.stop_watching(instances);  // PM2: `stop` ends watching, `start` keeps it off
        ctx.supervisor.stop(instances, done);
      } else if (m == "delete") {
        ctx.supervisor.remove(instances, done);
      } else {
        ctx.supervisor.update_env(instances, update.value());
        if (p.value("toggle_watch", false)) ctx.supervisor.toggle_watching(instances);
        ctx.supervisor.restart(instances, done);
      }
    } else if (m == "reload") {
      auto update = env_update_of(p);
      if (!update) return reply.error(update.error());
      if (auto replaced = replace_specs(ctx, p); !replaced) return reply.error(replaced.error());
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      ctx.supervisor.update_env(instances, update.value());
      if (p.value("toggle_watch", false)) ctx.supervisor.toggle_watching(instances);
      auto ids = ids_of(instances);
      auto reloading =
          ctx.supervisor.reload(instances, p.contains("batch") ? json_integer<int>(p["batch"], "batch") : 1,
                                [&ctx, reply, ids](const std::vector<supervisor::ReloadOutcome>& outcomes) {
                                  nlohmann::json notices = nlohmann::json::array();
                                  for (const auto& o : outcomes) {
                                    if (!o.ok) return reply.error(ErrorCode::reload_aborted, o.message);
                                    notices.push_back(o.message);
                                  }
                                  reply.ok({{"ids", ids}, {"notices", notices}, {"processes", describe_ids(ctx, ids)}});
                                });
      if (!reloading) reply.error(reloading.error());
    } else if (m == "send") {
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      if (auto sent = ctx.supervisor.send_message(instances, p.at("message")); !sent) return reply.error(sent.error());
      reply.ok({{"ids", ids_of(instances)}});
    } else if (m == "send_line") {
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      if (auto sent = ctx.supervisor.send_line(instances, p.at("line").get<std::string>()); !sent)
        return reply.error(sent.error());
      reply.ok({{"ids", ids_of(instances)}});
    } else if (m == "signal") {
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      const std::string name = p.at("signal").get<std::string>();
      const int signal = process::signal_from_name(name);
      if (signal == 0)
        return reply.error(ErrorCode::invalid, "unknown signal '" + name + "' (e.g. SIGUSR2, USR2 or 12)");
      if (auto sent = ctx.supervisor.send_signal(instances, signal); !sent) return reply.error(sent.error());
      reply.ok({{"ids", ids_of(instances)}, {"signal", process::signal_name(signal)}});
    } else if (m == "scale") {
      const std::string name = p.at("name").get<std::string>();
      auto scaling = ctx.supervisor.scale(name, p.at("count").get<std::string>(), [&ctx, reply, name] {
        auto app = ctx.supervisor.resolve({name});
        reply_when_settled(ctx, reply, app ? ids_of(app.value()) : nlohmann::json::array(), {{"scaled", true}});
      });
      if (!scaling) reply.error(scaling.error());
    } else if (m == "flush") {
      // `drove flush` with no app has nothing to empty: not an error.
      if (targets_of(p) == std::vector<std::string>{"all"} && ctx.supervisor.empty()) {
        return reply.ok({{"flushed", nlohmann::json::array()}});
      }
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      std::vector<std::string> paths;
      Status flushed = Ok{};
      for (const Instance* i : instances) {
        for (const auto* path : {&i->output_spec.out_path, &i->output_spec.err_path, &i->output_spec.combined_path}) {
          if (path->empty() || *path == "/dev/null") continue;
          // With the app's rights: a file its user cannot write is not truncated by root either.
          auto s = ctx.supervisor.logs().flush({*path}, i->output_spec.owner_for(*path));
          if (!s.ok() && flushed.ok()) flushed = s;
          paths.push_back(*path);
        }
      }
      if (!flushed.ok()) return reply.error(ErrorCode::io, flushed.error().message());
      reply.ok({{"flushed", paths}});
    } else if (m == "reloadLogs") {
      if (auto s = ctx.supervisor.logs().reopen_all(); !s.ok()) return reply.error(ErrorCode::io, s.error().message());
      reply.ok({{"reopened", true}});
    } else if (m == "reset") {
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      ctx.supervisor.reset_counters(instances);
      reply.ok({{"ids", ids_of(instances)}});
    } else if (m == "describe") {
      std::vector<Instance*> instances;
      if (!resolve(ctx, p, reply, instances)) return;
      nlohmann::json out = nlohmann::json::array();
      const auto log_files = log_file_stats(ctx.supervisor);
      for (const Instance* i : instances) out.push_back(describe_json(ctx.supervisor, *i, log_files));
      reply.ok_off_loop(std::move(out));
    } else if (m == "subscribe") {
      auto connection = reply.connection();
      if (!connection) return;
      for (const char* topic : {"events", "logs"}) {
        if (p.value(topic, false)) connection->subscribe(topic, p.value("filter", nlohmann::json::object()));
      }
      if (p.value("logs", false)) ctx.ensure_log_stream();
      reply.ok({{"subscribed", true}});
    } else if (m == "unsubscribe") {
      // The connection stays; the lines stop (drove-web, when its last dashboard stream closes).
      // The log engine drops its own subscription at the next line nobody wants.
      auto connection = reply.connection();
      if (!connection) return;
      for (const char* topic : {"events", "logs"}) {
        if (p.value(topic, false)) connection->unsubscribe(topic);
      }
      reply.ok({{"unsubscribed", true}});
    } else if (m == "save") {
      // Each app with whether it ran: resurrect starts only what was running.
      nlohmann::json apps = nlohmann::json::array();
      for (const auto& [spec, running] : ctx.supervisor.saved_state())
        apps.push_back({{"spec", spec}, {"running", running}});
      nlohmann::json dump = {{"version", DROVE_VERSION}, {"saved_at", wall_ms()}, {"apps", apps}};
      const size_t count = apps.size();
      ctx.dumps.save(std::move(dump), [reply, count, path = ctx.dump_path](const Status& s) {
        if (!s.ok()) return reply.error(ErrorCode::io, s.error().message());
        reply.ok({{"saved", count}, {"path", path}});
      });
    } else if (m == "cleardump") {
      // Through the same writer as `save`, so it is ordered with saves in flight.
      nlohmann::json empty = {{"version", DROVE_VERSION}, {"saved_at", wall_ms()}, {"apps", nlohmann::json::array()}};
      ctx.dumps.save(std::move(empty), [reply, path = ctx.dump_path](const Status& s) {
        if (!s.ok()) return reply.error(ErrorCode::io, s.error().message());
        reply.ok({{"cleared", true}, {"path", path}});
      });
    } else if (m == "kill") {
      log_info("kill requested: stopping every app");
      ctx.supervisor.stop_all([&ctx, reply] {
        reply.ok({{"stopped", true}});
        ctx.request_shutdown();
      });
    } else {
      reply.error(ErrorCode::no_method, "unknown method '" + m + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    reply.error(ErrorCode::invalid, std::string("bad parameters for '") + m + "': " + e.what());
  }
}

}  // namespace drove::daemon
