"""The scenarios. Each runs on drove and on PM2 alternately (A/B/A/B…), several rounds, each
product-round with a fresh home and daemon; a failure becomes "n/a (failed: reason)"."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import time

from . import procs
from .load import Wrk, free_port, http_ok, run_wrk
from .products import CmdError, Timeout, time_command, wait_until

MIB = 1024.0


def short(e):
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:240]


# ---------------------------------------------------------------------------------------------
# shared helpers

def for_rounds(ctx, scen, body, expected, baseline=None, baseline_first=False):
    """Runs body(product, round) for every product, alternately, for ctx.rounds rounds.
    expected(product_key) lists the series keys a product-round should fill: on failure, each
    one that got no sample in that round records the reason. baseline(round) runs once a round."""
    first_round_secs = None
    for rnd in range(ctx.rounds):
        # Another round only if it fits in the budget with one round left for each later scenario.
        if rnd > 0 and first_round_secs is not None and ctx.remaining() - ctx.reserve_after(scen) < first_round_secs:
            ctx.results.note(scen, f"stopped after {rnd} round(s): time budget")
            ctx.log(f"[{scen}] time budget: stopping after {rnd} round(s)")
            break
        t0 = time.monotonic()
        if baseline and baseline_first:
            _run_baseline(ctx, scen, baseline, rnd)
        for key in ctx.products:
            product = ctx.new_product(key, f"{scen}-r{rnd}")
            before = {k: len(ctx.results.samples.get(k, [])) for k in expected(key)}
            ctx.log(f"[{scen}] round {rnd + 1}/{ctx.rounds}: {product.label}")
            try:
                body(product, rnd)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - any failure is reported, never fatal
                reason = short(e)
                ctx.log(f"[{scen}] {product.label}: failed: {reason}")
                for k in expected(key):
                    if len(ctx.results.samples.get(k, [])) == before[k]:
                        ctx.results.fail(k, reason)
            finally:
                ctx.stop_product(product, scen)
        if baseline and not baseline_first:
            _run_baseline(ctx, scen, baseline, rnd)
        if first_round_secs is None:
            first_round_secs = time.monotonic() - t0


def _run_baseline(ctx, scen, baseline, rnd):
    ctx.log(f"[{scen}] round {rnd + 1}/{ctx.rounds}: plain node")
    try:
        baseline(rnd)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001
        ctx.log(f"[{scen}] plain node: failed: {short(e)}")
        ctx.results.note(scen, f"plain node baseline failed: {short(e)}")
    finally:
        ctx.stop_plain()


def online_count(apps, name=None):
    return sum(1 for a in apps if (name is None or a.get("name") == name)
               and a.get("pm2_env", {}).get("status") == "online" and a.get("pid"))


def wait_online(p, n, timeout, name=None, interval=0.1):
    def check():
        apps = p.jlist()
        mine = [a for a in apps if name is None or a.get("name") == name]
        return apps if len(mine) == n and online_count(mine) == n else None
    try:
        return wait_until(f"{n} app(s) online", check, timeout, interval)
    except Timeout as e:
        raise Timeout(f"{e} ({describe_instances(p.jlist(), p)})")


def describe_instances(apps, p):
    """'online ↺0, errored ↺16', led by a diagnosis when an error log names one (EADDRINUSE)."""
    parts = []
    hint = ""
    for a in apps:
        env = a.get("pm2_env", {})
        parts.append(f"{env.get('status')} ↺{env.get('restart_time')}")
        err = env.get("pm_err_log_path")
        if err and not hint:
            try:
                with open(err, "rb") as f:
                    f.seek(max(0, os.path.getsize(err) - 8192))
                    tail = f.read().decode("utf-8", "replace")
                if "EADDRINUSE" in tail:
                    hint = "EADDRINUSE: the instances do not share the port (no cluster mode); "
            except OSError:
                pass
    return f"{hint}instances: {', '.join(parts) or 'none'}"


def wait_cluster_ready(ctx, p, name, n, port):
    """n instances online, staying online with no restart for a moment, and answering HTTP."""
    apps = wait_online(p, n, 20, name=name)
    before = {a.get("pm_id"): (a.get("pid"), a["pm2_env"].get("restart_time")) for a in apps if a.get("name") == name}
    time.sleep(ctx.cfg["stable_s"])
    apps = p.jlist()
    after = {a.get("pm_id"): (a.get("pid"), a["pm2_env"].get("restart_time")) for a in apps if a.get("name") == name}
    if before != after or online_count(apps, name) != n:
        raise CmdError(f"not stably online: {describe_instances(apps, p)}")
    wait_until(f"HTTP 200 on port {port}", lambda: http_ok(port), 10, 0.1)


def sample_rss_mib(pid, reads=3, gap=0.2):
    vals = []
    for i in range(reads):
        v = procs.rss_kib(pid)
        if v is None:
            raise CmdError(f"process {pid} vanished while reading its RSS")
        vals.append(v / MIB)
        if i + 1 < reads:
            time.sleep(gap)
    return statistics.median(vals)


def read_marker(path):
    """(pid, wall-clock ms) written by the marker/logspam apps, or None."""
    try:
        with open(path) as f:
            pid, ts = f.read().split()
        return int(pid), float(ts)
    except (OSError, ValueError):
        return None


def app_entry(p, name):
    for a in p.jlist():
        if a.get("name") == name:
            return a
    return None


# ---------------------------------------------------------------------------------------------
# 1-3: list latency, daemon RSS, starting N apps (one run per product-round covers all three)

def fleet(ctx):
    n = ctx.cfg["fleet_n"]
    S1, S2, S3 = "1 list latency", "2 daemon RSS", f"3 start {n} apps"
    R = ctx.results
    R.row(S1, "list, 1 app", "ms", "lower", "list1/drove", "list1/pm2")
    R.row(S1, f"list, {n} apps", "ms", "lower", f"list{n}/drove", f"list{n}/pm2")
    for k, label in (("0", "idle, no app"), ("1", "1 app"), ("10", "10 apps"), (str(n), f"{n} apps")):
        R.row(S2, label, "MiB", "lower", f"rss{k}/drove", f"rss{k}/pm2")
    R.row(S3, f"start {n}: until the CLI returns", "s", "lower", "startcli/drove", "startcli/pm2")
    R.row(S3, f"start {n}: until jlist shows {n} online", "s", "lower", "startall/drove", "startall/pm2")
    R.row(S3, f"kill with {n} apps: until every process is gone", "s", "lower", "kill/drove", "kill/pm2")
    R.row(S3, f"start {n} instant binaries (/bin/sleep): until jlist shows {n} online", "s", "lower",
          "startbin/drove", "startbin/pm2")
    R.note(S3, "node apps take ~35 ms of CPU each to boot, so on 2 cores starting 100 of them is bounded by node "
               "itself for both managers; the same fleet of a program that starts instantly (/bin/sleep) shows "
               "what the manager costs")
    method = ctx.start_method
    R.note(S3, f"apps started with one CLI call: {'an ecosystem JSON file' if method == 'ecosystem' else f'`start a.js b.js …` ({n} scripts)'}"
               + ("" if method == "ecosystem" else " (drove has no ecosystem loader yet, so both products use this)"))
    scripts, eco9, eco_n = ctx.fleet_files(n)
    settle = ctx.cfg["settle_s"]

    def body(p, rnd):
        k = p.key
        dpid = p.ping()
        time.sleep(settle)
        R.add(f"rss0/{k}", sample_rss_mib(dpid), round=rnd)
        p.start(scripts[0])
        wait_online(p, 1, 30)
        for ms in time_command(p.list_argv(), p.env(), ctx.cfg["list_runs"], ctx.cfg["list_warmup"], ctx.tmp):
            R.add(f"list1/{k}", ms, round=rnd)
        R.add(f"rss1/{k}", sample_rss_mib(p.daemon_pid()), round=rnd)
        p.start_many(scripts[1:10], method, eco9)
        wait_online(p, 10, 60)
        time.sleep(settle)
        R.add(f"rss10/{k}", sample_rss_mib(p.daemon_pid()), round=rnd)
        p.delete_all()
        wait_until("every app deleted", lambda: not p.jlist(), 60, 0.2)
        time.sleep(settle)
        t0 = time.perf_counter()
        p.start_many(scripts, method, eco_n, timeout=max(120, 3 * n))
        t_cli = time.perf_counter() - t0
        wait_online(p, n, max(120, 3 * n), interval=0.1)
        t_all = time.perf_counter() - t0
        R.add(f"startcli/{k}", t_cli, round=rnd)
        R.add(f"startall/{k}", t_all, round=rnd)
        time.sleep(2 * settle)
        dpid = p.daemon_pid()
        R.add(f"rss{n}/{k}", sample_rss_mib(dpid), round=rnd)
        for ms in time_command(p.list_argv(), p.env(), ctx.cfg["list_runs"], ctx.cfg["list_warmup"], ctx.tmp):
            R.add(f"list{n}/{k}", ms, round=rnd)
        t0 = time.perf_counter()
        leftovers = p.kill()
        if leftovers:
            raise CmdError(f"'kill' left {len(leftovers)} process(es) running")
        R.add(f"kill/{k}", time.perf_counter() - t0, round=rnd)

        # The same fleet of a program that starts instantly: what the manager itself costs.
        eco_bin = os.path.join(ctx.tmp, f"eco-bin-{n}.json")
        with open(eco_bin, "w") as f:
            json.dump({"apps": [{"name": f"bin{i}", "script": "/bin/sleep", "args": ["100000"],
                                 "interpreter": "none"} for i in range(n)]}, f)
        p.ping()
        time.sleep(settle)
        t0 = time.perf_counter()
        p.cli("start", eco_bin, timeout=max(120, 3 * n))
        wait_online(p, n, max(120, 3 * n), interval=0.05)
        R.add(f"startbin/{k}", time.perf_counter() - t0, round=rnd)
        leftovers = p.kill()
        if leftovers:
            raise CmdError(f"'kill' left {len(leftovers)} process(es) running")

    for_rounds(ctx, "fleet", body, lambda k: [f"{m}/{k}" for m in
               ("list1", f"list{n}", "rss0", "rss1", "rss10", f"rss{n}", "startcli", "startall", "kill", "startbin")])


# ---------------------------------------------------------------------------------------------
# 4: crash -> replacement

def crash(ctx):
    S = "4 crash → replacement"
    R = ctx.results
    R.row(S, "SIGKILL → new pid visible in jlist", "ms", "lower", "crashcli/drove", "crashcli/pm2")
    R.row(S, "SIGKILL → the app's code runs again", "ms", "lower", "crashcode/drove", "crashcode/pm2")
    R.note(S, "the app is up for 1.2 s before each kill (longer than min_uptime, so every restart is a stable one); "
              "'code runs again' is read from a timestamp the app writes first thing, measured without CLI polling")
    app = os.path.join(ctx.apps, "marker.js")
    up = ctx.cfg["crash_uptime_s"]

    def kill_and_wait_marker(marker):
        old_pid, _ = read_marker(marker)
        ctx.tracker.add(old_pid, "app")
        t_kill = time.time()
        os.kill(old_pid, signal.SIGKILL)
        return old_pid, t_kill

    def body(p, rnd):
        k = p.key
        marker = os.path.join(ctx.tmp, f"crash-{k}-{rnd}.marker")
        p.ping()
        p.start(app, name="crashy", env={"BENCH_MARKER": marker})
        wait_until("the app's marker", lambda: read_marker(marker), 15)
        wait_online(p, 1, 15)
        for i in range(ctx.cfg["crash_samples"]):
            # (b) the app's own code, no CLI polling meanwhile
            time.sleep(up)
            old_pid, t_kill = kill_and_wait_marker(marker)
            new = wait_until("the restarted app's marker",
                             lambda: (m := read_marker(marker)) and m[0] != old_pid and m, 15, 0.002)
            R.add(f"crashcode/{k}", new[1] - t_kill * 1000.0, sample=i, round=rnd)
            wait_until("the new pid online in jlist",
                       lambda: (a := app_entry(p, "crashy")) and a.get("pid") == new[0]
                       and a["pm2_env"].get("status") == "online", 15, 0.05)
            # (a) the new pid as the CLI shows it: jlist in a loop
            time.sleep(up)
            old_pid, t_kill = kill_and_wait_marker(marker)
            calls = 0

            def seen():
                nonlocal calls
                calls += 1
                a = app_entry(p, "crashy")
                return a and a.get("pid") and a["pid"] != old_pid and a["pm2_env"].get("status") == "online"
            wait_until("a new pid in jlist", seen, 15, 0.0)
            t_seen = time.time()
            m = read_marker(marker)
            R.add(f"crashcli/{k}", (t_seen - t_kill) * 1000.0, sample=i, round=rnd, jlist_calls=calls,
                  code_ms_while_polling=(m[1] - t_kill * 1000.0) if m and m[0] != old_pid else None)

    for_rounds(ctx, "crash", body, lambda k: [f"crashcli/{k}", f"crashcode/{k}"])


# ---------------------------------------------------------------------------------------------
# 5: cluster throughput

MODES = (("ka", "keep-alive", False), ("close", "Connection: close", True))


def cluster(ctx):
    S = "5 cluster throughput"
    R = ctx.results
    policies = ctx.drove_lb_policies()
    variants = {"drove": policies or [None], "pm2": [None]}
    for mode, mode_label, _ in MODES:
        for v in variants["drove"]:
            R.row(S, f"2 workers, {mode_label}" + (f", drove --lb {v}" if v else ""), "req/s", "higher",
                  f"cl-{mode}/drove/{v or 'default'}", f"cl-{mode}/pm2/default",
                  baseline=f"cl-{mode}/node", baseline_label="plain node, 1 process")
    if not policies and "drove" in ctx.products:
        R.note(S, "drove has no --lb flag yet: its default policy only")
    c = ctx.cfg
    R.note(S, f"wrk -t{c['wrk_threads']} -c{c['wrk_conns']} -d{c['wrk_s']}s after a {c['wrk_warmup_s']}s warm-up; "
              "hello app: res.end('hello'); wrk and the server share the machine's cores")
    app = os.path.join(ctx.apps, "hello.js")

    def measure(port, prefix, **details):
        if c["wrk_warmup_s"]:
            run_wrk(port, c["wrk_threads"], c["wrk_conns"], c["wrk_warmup_s"], False, ctx.tracker)
        for mode, _, close in MODES:
            r = run_wrk(port, c["wrk_threads"], c["wrk_conns"], c["wrk_s"], close, ctx.tracker)
            raw = {k: v for k, v in r.items() if k != "raw"}
            R.add(prefix(mode), r["rps"], **raw, **details)

    def body(p, rnd):
        for v in variants[p.key]:
            keys = [f"cl-{mode}/{p.key}/{v or 'default'}" for mode, _, _ in MODES]
            try:
                port = free_port()
                p.start(app, name="web", instances=2, env={"PORT": port}, extra=["--lb", v] if v else [])
                wait_cluster_ready(ctx, p, "web", 2, port)
                measure(port, lambda mode: f"cl-{mode}/{p.key}/{v or 'default'}", round=rnd)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001
                ctx.log(f"[cluster] {p.label}{' --lb ' + v if v else ''}: failed: {short(e)}")
                for key in keys:
                    R.fail(key, short(e))
            finally:
                try:
                    p.delete_all(timeout=60)
                except Exception:  # noqa: BLE001
                    pass

    def baseline(rnd):
        port = free_port()
        ctx.start_plain([app], {"PORT": port})
        wait_until(f"plain node on port {port}", lambda: http_ok(port), 10, 0.1)
        measure(port, lambda mode: f"cl-{mode}/node", round=rnd)

    # Failures are recorded per variant inside body; nothing left to mark here.
    for_rounds(ctx, "cluster", body, lambda k: [], baseline=baseline)


# ---------------------------------------------------------------------------------------------
# 6: requests and errors during reloads / restarts under load

def reloads(ctx):
    S = "6 reload/restart under load"
    R = ctx.results
    ops = ctx.cfg["reload_ops"]
    for op in ("reload", "restart"):
        R.row(S, f"{ops}× {op}: requests served", "", None, f"{op}-req/drove", f"{op}-req/pm2")
        R.row(S, f"{ops}× {op}: failed requests", "%", "lower", f"{op}-failpct/drove", f"{op}-failpct/pm2")
        R.row(S, f"{ops}× {op}: non-2xx responses", "", "lower", f"{op}-non2xx/drove", f"{op}-non2xx/pm2")
        R.row(S, f"{ops}× {op}: socket errors", "", "lower", f"{op}-sockerr/drove", f"{op}-sockerr/pm2")
    c = ctx.cfg
    R.note(S, f"2-instance cluster app; wrk -t2 -c{c['reload_conns']} with Connection: close runs from 1 s before "
              f"the first reload/restart to 1 s after the last ({ops} ops, 0.5 s apart); socket errors = wrk's connect + read + "
              "write + timeout; failed requests = (non-2xx + socket errors) / (responses + socket errors); the "
              "number of requests served depends on how long the operations take")
    app = os.path.join(ctx.apps, "hello.js")

    def body(p, rnd):
        k = p.key
        port = free_port()
        p.start(app, name="web", instances=2, env={"PORT": port})
        wait_cluster_ready(ctx, p, "web", 2, port)
        for op in ("reload", "restart"):
            keys = [f"{op}-req/{k}", f"{op}-non2xx/{k}", f"{op}-sockerr/{k}", f"{op}-failpct/{k}"]
            w = None
            try:
                w = Wrk(port, 2, c["reload_conns"], 300, True, ctx.tracker)
                time.sleep(1.0)
                op_secs = []
                for i in range(ops):
                    t0 = time.perf_counter()
                    getattr(p, op)("web")
                    op_secs.append(time.perf_counter() - t0)
                    time.sleep(0.5)
                time.sleep(0.5)
                r = w.stop()
                w = None
                raw = {kk: v for kk, v in r.items() if kk != "raw"}
                R.add(keys[0], r["requests"], **raw, op_seconds=op_secs, round=rnd)
                R.add(keys[1], r["non2xx"], round=rnd)
                R.add(keys[2], r["socket_errors"], round=rnd)
                attempts = r["requests"] + r["socket_errors"]
                R.add(keys[3], 100.0 * (r["non2xx"] + r["socket_errors"]) / max(1, attempts), round=rnd)
                wait_cluster_ready(ctx, p, "web", 2, port)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001
                ctx.log(f"[reload] {p.label} {op}: failed: {short(e)}")
                for key in keys:
                    R.fail(key, short(e))
            finally:
                if w is not None:
                    w.abort()

    for_rounds(ctx, "reload", body,
               lambda k: [f"{op}-{m}/{k}" for op in ("reload", "restart") for m in ("req", "non2xx", "sockerr", "failpct")])


# ---------------------------------------------------------------------------------------------
# 7: log throughput

def count_lines(path, n):
    seen = bytearray(n)
    total = unique = 0
    done = False
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"line "):
                total += 1
                try:
                    i = int(line.split(b" ", 2)[1])
                except (ValueError, IndexError):
                    continue
                if 0 <= i < n and not seen[i]:
                    seen[i] = 1
                    unique += 1
            elif b"BENCH-LOG-DONE" in line:
                done = True
    return total, unique, done


def logs(ctx):
    n = ctx.cfg["log_lines"]
    S = "7 log throughput"
    R = ctx.results
    variants = (("line", 1, "1 line per write"), ("batch", 1000, "1000 lines per write"))
    for v, _, label in variants:
        R.row(S, f"{n:,} lines, {label}: throughput", "lines/s", "higher",
              f"lograte-{v}/drove", f"lograte-{v}/pm2")
        R.row(S, f"{label}: lines lost", "", "lower", f"loglost-{v}/drove", f"loglost-{v}/pm2")
        R.row(S, f"{label}: daemon CPU", "s", "lower", f"logdcpu-{v}/drove", f"logdcpu-{v}/pm2")
        R.row(S, f"{label}: app CPU", "s", "lower", f"logacpu-{v}/drove", f"logacpu-{v}/pm2")
    R.note(S, "lines of ~30 bytes written to stdout as fast as the pipe takes them, one write per line (like "
              "console.log) or 1000 per write (which puts the bottleneck on the manager); timed from the app's "
              "first line to the final marker line appearing in the out log file; daemon CPU over the same span")
    app = os.path.join(ctx.apps, "logspam.js")

    def tail_has_done(path):
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                f.seek(max(0, size - 64))
                return b"BENCH-LOG-DONE" in f.read()
        except OSError:
            return False

    def one(p, rnd, v, batch):
        k = p.key
        dpid = p.daemon_pid()
        cpu0 = procs.cpu_seconds(dpid)
        base = os.path.join(ctx.tmp, f"logs-{k}-{rnd}-{v}")
        out, err, marker = base + "-out.log", base + "-err.log", base + ".marker"
        name = f"spam-{v}"
        p.start(app, name=name, env={"BENCH_LINES": n, "BENCH_BATCH": batch, "BENCH_MARKER": marker},
                extra=["-o", out, "-e", err])
        path = out
        try:
            wait_until("the out log file", lambda: os.path.exists(out), 3, 0.01)
        except Timeout:
            a = app_entry(p, name)
            path = (a or {}).get("pm2_env", {}).get("pm_out_log_path") or out
        m = wait_until("the app's marker", lambda: read_marker(marker), 15)
        try:
            wait_until("the last log line in the file", lambda: tail_has_done(path), ctx.cfg["log_timeout_s"], 0.005)
        except Timeout:
            total, unique, _ = count_lines(path, n) if os.path.exists(path) else (0, 0, False)
            raise Timeout(f"last line not in {os.path.basename(path)} after {ctx.cfg['log_timeout_s']}s "
                          f"({unique:,}/{n:,} lines there)")
        t_done = time.time()
        cpu1 = procs.cpu_seconds(dpid)
        app_cpu = procs.cpu_seconds(m[0])
        total, unique, _ = count_lines(path, n)
        secs = t_done - m[1] / 1000.0
        R.add(f"lograte-{v}/{k}", n / max(1e-6, secs), round=rnd, seconds=secs)
        R.add(f"loglost-{v}/{k}", n - unique, round=rnd, duplicates=total - unique)
        if cpu0 is not None and cpu1 is not None:
            R.add(f"logdcpu-{v}/{k}", cpu1 - cpu0, round=rnd)
        if app_cpu is not None:
            R.add(f"logacpu-{v}/{k}", app_cpu, round=rnd)
        p.delete_all()
        os.unlink(path)

    def body(p, rnd):
        p.ping()
        time.sleep(ctx.cfg["settle_s"])
        for v, batch, _ in variants:
            one(p, rnd, v, batch)

    for_rounds(ctx, "logs", body, lambda k: [f"log{m}-{v}/{k}" for m in ("rate", "lost", "dcpu", "acpu")
                                             for v, _, _ in variants])


# ---------------------------------------------------------------------------------------------
# 8: per-app memory overhead

def appmem(ctx):
    S = "8 per-app memory"
    R = ctx.results
    R.row(S, "idle node app: RSS", "MiB", "lower", "apprss/drove", "apprss/pm2",
          baseline="apprss/node", baseline_label="plain `node app.js`")
    R.row(S, "idle node app: RSS over plain node", "MiB", "lower", "appover/drove", "appover/pm2")
    R.row(S, "idle node app: private dirty memory", "MiB", "lower", "appuss/drove", "appuss/pm2",
          baseline="appuss/node", baseline_label="plain `node app.js`")
    R.row(S, "processes besides the app", "", "lower", "appextra/drove", "appextra/pm2")
    R.note(S, f"RSS and private dirty memory (Private_Dirty of smaps_rollup: heap and stacks, independent of sharing the node binary with another process) of the app's process {ctx.cfg['appmem_settle_s']:g} s after it is online "
              "(PM2 runs a node app inside its ProcessContainerFork wrapper); 'processes besides the app' counts "
              "the daemon and every other process in its tree")
    app = os.path.join(ctx.apps, "idle.js")
    plain = {}

    def body(p, rnd):
        k = p.key
        dpid = p.ping()
        p.start(app, name="mem")
        wait_online(p, 1, 15)
        time.sleep(ctx.cfg["appmem_settle_s"])
        pid = app_entry(p, "mem")["pid"]
        rss = sample_rss_mib(pid)
        R.add(f"apprss/{k}", rss, round=rnd)
        if rnd in plain:
            R.add(f"appover/{k}", rss - plain[rnd], round=rnd)
        else:
            R.fail(f"appover/{k}", "the plain node baseline failed")
        uss = procs.private_dirty_kib(pid)
        if uss is not None:
            R.add(f"appuss/{k}", uss / MIB, round=rnd)
        tree = set(procs.descendants(dpid)) | {dpid}
        app_tree = set(procs.descendants(pid)) | {pid}
        R.add(f"appextra/{k}", len(tree - app_tree), round=rnd, daemon_threads=procs.threads(dpid))

    def baseline(rnd):
        pid = ctx.start_plain([app], {})
        time.sleep(0.3 + ctx.cfg["appmem_settle_s"])
        rss = sample_rss_mib(pid)
        plain[rnd] = rss
        R.add("apprss/node", rss, round=rnd)
        uss = procs.private_dirty_kib(pid)
        if uss is not None:
            R.add("appuss/node", uss / MIB, round=rnd)

    for_rounds(ctx, "appmem", body, lambda k: [f"app{m}/{k}" for m in ("rss", "over", "uss", "extra")],
               baseline=baseline, baseline_first=True)


# ---------------------------------------------------------------------------------------------
# 9: a cluster app that never listens (a queue worker): how soon it is online

def worker(ctx):
    S = "9 cluster app that never listens"
    R = ctx.results
    R.row(S, "start -i 4: until jlist shows 4 online", "ms", "lower", "workerstart/drove", "workerstart/pm2")
    R.row(S, "SIGKILL one → new pid online in jlist", "ms", "lower", "workercrash/drove", "workercrash/pm2")
    R.note(S, "idle.js in cluster mode (-i 4), never calls listen(); 'start' is timed from the start command "
              "until jlist shows 4 online; the kill is taken 1.2 s after the app is online")
    app = os.path.join(ctx.apps, "idle.js")

    def body(p, rnd):
        k = p.key
        p.ping()
        t0 = time.monotonic()
        p.start(app, name="worker", instances=4)
        wait_until("4 online", lambda: online_count(p.jlist(), "worker") == 4, 30, 0.0)
        R.add(f"workerstart/{k}", (time.monotonic() - t0) * 1000.0, round=rnd)
        for i in range(ctx.cfg["crash_samples"]):
            time.sleep(ctx.cfg["crash_uptime_s"])
            victim = app_entry(p, "worker")["pid"]
            ctx.tracker.add(victim, "app")
            t_kill = time.monotonic()
            os.kill(victim, signal.SIGKILL)

            def replaced():
                apps = [a for a in p.jlist() if a.get("name") == "worker"]
                pids = {a.get("pid") for a in apps}
                return victim not in pids and online_count(apps) == 4
            wait_until("the new pid online in jlist", replaced, 30, 0.0)
            R.add(f"workercrash/{k}", (time.monotonic() - t_kill) * 1000.0, sample=i, round=rnd)

    for_rounds(ctx, "worker", body, lambda k: [f"workerstart/{k}", f"workercrash/{k}"])


# ---------------------------------------------------------------------------------------------
# 10: the daemon's loop under big work: does another app's accept path wait?

class LatencyProbe:
    """Opens a new connection to 127.0.0.1:port and GETs / in a loop (one at a time) from a
    thread; records each request's time from connect() to the end of the response. A round-robin
    app's connections are accepted by its manager's daemon, so what the daemon does meanwhile
    shows here as latency."""

    def __init__(self, port):
        import threading
        self.port = port
        self.samples = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import socket
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=30) as c:
                    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    while c.recv(65536):
                        pass
                self.samples.append((time.perf_counter() - t0) * 1000.0)
            except OSError:
                self.failures += 1
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(35)

    def worst(self):
        return max(self.samples) if self.samples else float("nan")


def stall(ctx):
    n = ctx.cfg["stall_n"]
    S = "10 other apps while the daemon works"
    R = ctx.results
    R.row(S, "worst new-connection latency of a round-robin app: idle", "ms", "lower", "stall-idle/drove", "stall-idle/pm2")
    R.row(S, "… while another client starts an app with a 15 MiB environment", "ms", "lower",
          "stall-big/drove", "stall-big/pm2")
    R.row(S, f"… while `scale sleeper +{n}` runs (until all online)", "ms", "lower", "stall-scale/drove", "stall-scale/pm2")
    R.row(S, f"jlist with {n + 1} instances", "ms", "lower", f"jlist{n + 1}/drove", f"jlist{n + 1}/pm2")
    R.row(S, "daemon's longest loop turn: idle (drove only)", "ms", "lower", "loop-idle/drove", None)
    R.row(S, "… while it takes the 15 MiB start", "ms", "lower", "loop-big/drove", None)
    R.row(S, f"… while `scale sleeper +{n}` runs", "ms", "lower", "loop-scale/drove", None)
    R.row(S, f"… while it answers jlist with {n + 1} instances", "ms", "lower", f"loop-jlist{n + 1}/drove", None)
    R.note(S, "hello.js -i 2 (round-robin: the daemon accepts); a probe thread opens a new connection per "
              "request, one at a time, and the worst connect-to-response time of each window is kept. The big "
              "request is `start` of a 15 MiB ecosystem JSON (drove reads ecosystem files up to 16 MiB) whose app "
              "has 150 variables of 100 KiB (the app itself "
              "cannot exec with such an environment, in either product: what is measured is the daemon taking "
              "the request). `sleeper` is /bin/sleep in fork mode. The daemon's longest loop turn is read from "
              "its own meter (`ping`: wall time between two waits for I/O, less the time blocked in epoll), "
              "the longest wait the daemon imposed on every accept, log line and request in that window; "
              "PM2 has no such meter.")
    app = os.path.join(ctx.apps, "hello.js")
    big = os.path.join(ctx.tmp, "eco-15mib.json")
    if not os.path.exists(big):
        with open(big, "w") as f:
            json.dump({"apps": [{"name": "big", "script": "/bin/sleep", "args": ["100000"], "interpreter": "none",
                                 "autorestart": False,
                                 "env": {f"BIG{i}": "x" * 102400 for i in range(150)}}]}, f)

    def body(p, rnd):
        k = p.key
        p.ping()
        port = free_port()
        p.start(app, name="web", instances=2, env={"PORT": port})
        wait_cluster_ready(ctx, p, "web", 2, port)
        def loop_turn(series, since):
            if k == "drove":
                R.add(f"loop-{series}/drove", p.longest_loop_turn(since, time.time()), round=rnd)

        since = time.time()
        with LatencyProbe(port) as probe:
            time.sleep(3)
        R.add(f"stall-idle/{k}", probe.worst(), requests=len(probe.samples), failures=probe.failures, round=rnd)
        loop_turn("idle", since)

        since = time.time()
        with LatencyProbe(port) as probe:
            time.sleep(0.5)
            p.cli("start", big, timeout=120, check=False)
            time.sleep(0.5)
        R.add(f"stall-big/{k}", probe.worst(), requests=len(probe.samples), failures=probe.failures, round=rnd)
        loop_turn("big", since)
        p.cli("delete", "big", timeout=60, check=False)

        p.start("/bin/sleep", name="sleeper", extra=["--interpreter", "none", "--", "100000"])
        wait_online(p, 1, 30, name="sleeper")
        since = time.time()
        with LatencyProbe(port) as probe:
            time.sleep(0.5)
            p.cli("scale", "sleeper", f"+{n}", timeout=max(120, n))
            wait_online(p, n + 1, max(120, n), name="sleeper", interval=0.5)
        R.add(f"stall-scale/{k}", probe.worst(), requests=len(probe.samples), failures=probe.failures, round=rnd)
        loop_turn("scale", since)
        time.sleep(1.1)  # the history is per second: the jlist window starts in a second of its own
        since = time.time()
        for ms in time_command(p.argv("jlist"), p.env(), ctx.cfg["list_runs"], ctx.cfg["list_warmup"], ctx.tmp):
            R.add(f"jlist{n + 1}/{k}", ms, round=rnd)
        loop_turn(f"jlist{n + 1}", since)
        leftovers = p.kill()
        if leftovers:
            raise CmdError(f"'kill' left {len(leftovers)} process(es) running")

    for_rounds(ctx, "stall", body, lambda k: [f"stall-idle/{k}", f"stall-big/{k}", f"stall-scale/{k}", f"jlist{n + 1}/{k}"]
               + ([f"loop-idle/{k}", f"loop-big/{k}", f"loop-scale/{k}", f"loop-jlist{n + 1}/{k}"] if k == "drove" else []))


# ---------------------------------------------------------------------------------------------
# 11: the container entrypoint (drove-runtime vs pm2-runtime)

def runtime(ctx):
    S = "11 container entrypoint"
    R = ctx.results
    R.row(S, "exec → a 2-instance cluster app answers HTTP", "ms", "lower", "rt-serve/drove", "rt-serve/pm2")
    R.row(S, "entrypoint memory, apps excluded", "MiB", "lower", "rt-rss/drove", "rt-rss/pm2")
    R.row(S, "SIGTERM → every app stopped and the entrypoint exited", "ms", "lower", "rt-stop/drove", "rt-stop/pm2")
    R.note(S, "`drove-runtime hello.js -i 2` against `pm2-runtime hello.js -i 2`, started as a container runtime "
              "starts its entrypoint (stdout and stderr to files); memory is the RSS of the entrypoint's "
              "process tree without the app instances, once they serve; the stop ends with the entrypoint's "
              "exit (its status must be 0)")
    app = os.path.join(ctx.apps, "hello.js")

    def body(p, rnd):
        k = p.key
        here = os.path.dirname(p.bin)
        argv = ([os.path.join(here, "drove-runtime")] if k == "drove"
                else ["node", os.path.join(here, "pm2-runtime")]) + [app, "-i", "2"]
        port = free_port()
        out = os.path.join(ctx.tmp, f"runtime-{k}-{rnd}.out")
        with open(out, "wb") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=p.env({"PORT": port}), cwd=ctx.tmp)
        ctx.tracker.add(proc.pid, k)
        try:
            wait_until(f"HTTP 200 on port {port}", lambda: http_ok(port), 30, 0.005)
            R.add(f"rt-serve/{k}", (time.perf_counter() - t0) * 1000.0, round=rnd)
            apps = wait_online(p, 2, 15)
            app_pids = set()
            for a in apps:
                app_pids |= set(procs.descendants(a["pid"])) | {a["pid"]}
            def helpers():
                return (set(procs.descendants(proc.pid)) | {proc.pid}) - app_pids
            for pid in helpers():
                ctx.tracker.add(pid, k)
            # drove's `drove start` client is still exiting when the apps serve: let it go.
            try:
                wait_until("the entrypoint alone besides its apps", lambda: len(helpers()) == 1, 5, 0.01)
            except Timeout:
                pass
            tree = helpers()
            R.add(f"rt-rss/{k}", sum(sample_rss_mib(pid) for pid in tree), round=rnd, processes=len(tree))
            t_term = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=30)
            if rc != 0:
                raise CmdError(f"the entrypoint exited with {rc} after SIGTERM")
            wait_until("the apps gone", lambda: not any(procs.alive(x) for x in app_pids), 10, 0.01)
            R.add(f"rt-stop/{k}", (time.perf_counter() - t_term) * 1000.0, round=rnd)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    for_rounds(ctx, "runtime", body, lambda k: [f"rt-serve/{k}", f"rt-rss/{k}", f"rt-stop/{k}"])


# ---------------------------------------------------------------------------------------------
# 12: the daemon dies under load (issue #13: drove's keeper keeps the apps; PM2's apps die)

def daemoncrash(ctx):
    S = "12 daemon SIGKILL under load"
    R = ctx.results
    R.row(S, "cluster workers alive 3 s after the daemon's SIGKILL (of 2)", "", "higher", "dc-alive/drove", "dc-alive/pm2")
    R.row(S, "failed requests from 1 s before the kill until 1 s after the app is listed online again", "", "lower",
          "dc-failed/drove", "dc-failed/pm2")
    R.row(S, "SIGKILL → the app listed online again", "ms", "lower", "dc-back/drove", "dc-back/pm2")
    R.note(S, "a 2-instance cluster app, saved; wrk -t2 -c16 with Connection: close; SIGKILL to the daemon (PM2's God). "
              "drove: its keeper starts the daemon again, which takes the same workers back (they never stop serving); "
              "PM2: its workers die with God, and `resurrect` runs as soon as none is left (at most 3 s); "
              "failed = non-2xx + socket errors")
    app = os.path.join(ctx.apps, "hello.js")

    def body(p, rnd):
        k = p.key
        port = free_port()
        p.start(app, name="web", instances=2, env={"PORT": port})
        wait_cluster_ready(ctx, p, "web", 2, port)
        p.cli("save")
        workers = [a["pid"] for a in p.jlist() if a.get("name") == "web"]
        w = Wrk(port, 2, 16, 300, True, ctx.tracker)
        try:
            time.sleep(1.0)
            daemon = p.daemon_pid()
            t_kill = time.perf_counter()
            os.kill(daemon, signal.SIGKILL)

            def listed_again():
                try:
                    if p.daemon_pid() in (None, daemon):
                        return False
                    rows = [a for a in p.jlist() if a.get("name") == "web"]
                    return len(rows) == 2 and all(a.get("pm2_env", {}).get("status") == "online" for a in rows)
                except Exception:  # noqa: BLE001 - the daemon is coming back
                    return False

            def workers_alive():
                return any(procs.alive(x) for x in workers)

            back = None
            try:
                wait_until("the old workers gone, or listed again", lambda: not workers_alive() or listed_again(),
                           3, 0.005)
            except Timeout:
                pass
            if workers_alive() and listed_again():
                back = (time.perf_counter() - t_kill) * 1000.0
                time.sleep(max(0.0, 3.0 - (time.perf_counter() - t_kill)))  # still alive 3 s after?
            R.add(f"dc-alive/{k}", sum(1 for x in workers if procs.alive(x)), round=rnd)
            if back is None:  # the workers died (or 3 s passed): bring the app back by hand
                ctx.tracker.kill_leftovers(k)  # survivors would hold the port against the resurrected list
                p.cli("resurrect")
                wait_until(f"HTTP 200 on port {port}", lambda: http_ok(port, 0.2), 20, 0.005)
                wait_until("listed online again", listed_again, 20, 0.005)
                back = (time.perf_counter() - t_kill) * 1000.0
            R.add(f"dc-back/{k}", back, round=rnd)
            time.sleep(1.0)
            r = w.stop()
            w = None
            R.add(f"dc-failed/{k}", r["non2xx"] + r["socket_errors"], round=rnd, requests=r["requests"])
        finally:
            if w is not None:
                w.abort()

    for_rounds(ctx, "daemoncrash", body, lambda k: [f"dc-alive/{k}", f"dc-failed/{k}", f"dc-back/{k}"])


# ---------------------------------------------------------------------------------------------
# 13: a load step on a CPU-bound app: fixed 1, fixed max, autoscale (issue #17)

AUTOSCALE_VARIANTS = {
    # key: (label, -i, extra flags); drove's autoscaled variants have no PM2 counterpart
    "fixed1": ("fixed 1 instance", 1, []),
    "fixed4": ("fixed 4 instances", 4, []),
    "cpu": ("autoscale 1..4 on cpu (target 70 %)", None,
            ["--min-instances", "1", "--max-instances", "4", "--scale-up-cooldown", "2s", "--scale-down-delay", "5s"]),
    "loadavg": ("autoscale 1..4, seed 002's load-average rule", None,
                ["--min-instances", "1", "--max-instances", "4", "--scale-metric", "loadavg",
                 "--scale-up-cooldown", "10s", "--scale-down-delay", "10s"]),
}


def autoscale(ctx):
    S = "13 autoscale under a load step"
    R = ctx.results
    c = ctx.cfg
    step_s, tail_s = c["autoscale_step_s"], c["autoscale_tail_s"]
    seg_s = 3
    late_segments = max(1, (step_s // seg_s) - 2)  # the segments after the first 6 s: after scale-up
    window = step_s + tail_s
    for v, (label, _, _) in AUTOSCALE_VARIANTS.items():
        fixed = v.startswith("fixed")
        pm2 = (lambda m: f"as-{m}/pm2/{v}") if fixed else (lambda m: None)
        base = {} if fixed else {"baseline": "as-p99/drove/fixed1", "baseline_label": "drove, fixed 1 instance"}
        R.row(S, f"{label}: throughput during the step", "req/s", "higher", f"as-rps/drove/{v}", pm2("rps"))
        R.row(S, f"{label}: p99 latency during the step", "ms", "lower", f"as-p99/drove/{v}", pm2("p99"), **base)
        late_base = {} if fixed else {"baseline": "as-p99late/drove/fixed1", "baseline_label": "drove, fixed 1 instance"}
        R.row(S, f"{label}: p99 latency after the first 6 s of the step", "ms", "lower", f"as-p99late/drove/{v}",
              pm2("p99late"), **late_base)
        R.row(S, f"{label}: instance-seconds over the step and {tail_s} s after", "s", "lower",
              f"as-inst/drove/{v}", pm2("inst"))
        if not fixed:
            R.row(S, f"{label}: step start → a 2nd instance online", "s", "lower", f"as-up/drove/{v}", None)
            R.row(S, f"{label}: step end → back to 1 instance", "s", "lower", f"as-down/drove/{v}", None)
            R.row(S, f"{label}: most instances during the step", "", "", f"as-peak/drove/{v}", None)
    R.note(S, f"cpu.js burns 10 ms of CPU per request; the step is {step_s // seg_s} back-to-back runs of "
              f"wrk -t2 -c8 --latency -d{seg_s}s with Connection: close after the app is online; a p99 is the worst "
              "of its segments' p99s; instance-seconds are counted from jlist every 0.25 s "
              f"over the step and the {tail_s} s after it (fixed: instances × {window} s). The load-average rule "
              "starts from whatever load the previous runs left (the host's signal, decaying over a minute). "
              "PM2 has no autoscaling: "
              "its fixed runs are the reference. Failed requests (non-2xx + socket errors) are in the raw data.")
    app = os.path.join(ctx.apps, "cpu.js")

    def count(p):
        return sum(1 for a in p.jlist() if a.get("name") == "cpu" and a.get("pm2_env", {}).get("status") == "online")

    def one(p, rnd, v):
        _, instances, extra = AUTOSCALE_VARIANTS[v]
        if p.key == "drove" and instances == 1:
            extra = extra + ["--exec-mode", "cluster"]  # as PM2's -i 1, and as the autoscaled runs start
        port = free_port()
        p.start(app, name="cpu", instances=instances, env={"PORT": port, "WORK_MS": 10}, extra=extra)
        if instances:
            wait_cluster_ready(ctx, p, "cpu", instances, port)
        else:
            # Autoscaled: it may already grow (the load average is the host's, and remembers the
            # previous run for a minute): online and answering is enough.
            wait_until("an instance online", lambda: count(p) >= 1, 20, 0.1)
            wait_until(f"HTTP 200 on port {port}", lambda: http_ok(port), 10, 0.1)
        # The step as back-to-back wrk runs of seg_s each, so that latency is known per segment.
        segments = []
        failure = []

        def load():
            try:
                for _ in range(step_s // seg_s):
                    segments.append(run_wrk(port, 2, 8, seg_s, True, ctx.tracker, latency=True))
            except Exception as e:  # noqa: BLE001
                failure.append(e)

        import threading
        loader = threading.Thread(target=load, daemon=True)
        t0 = time.monotonic()
        loader.start()
        samples = []  # (seconds since the step began, instances online)
        while time.monotonic() - t0 < window:
            samples.append((time.monotonic() - t0, count(p) if not instances else instances))
            time.sleep(0.25)
        loader.join(step_s + 30)
        if failure or len(segments) != step_s // seg_s:
            raise CmdError(f"load step failed: {short(failure[0]) if failure else 'wrk did not finish'}")
        inst = 0.0
        for (t1, n1), (t2, _) in zip(samples, samples[1:] + [(window, None)]):
            inst += n1 * (min(t2, window) - t1)
        requests = sum(r["requests"] for r in segments)
        seconds = sum(r["seconds"] for r in segments)
        failed = sum(r["non2xx"] + r["socket_errors"] for r in segments)
        late = segments[len(segments) - late_segments:]
        R.add(f"as-rps/{p.key}/{v}", requests / seconds, round=rnd, failed=failed)
        R.add(f"as-p99/{p.key}/{v}", max(r["p99_ms"] for r in segments), round=rnd,
              per_segment=[r["p99_ms"] for r in segments], failed=failed)
        R.add(f"as-p99late/{p.key}/{v}", max(r["p99_ms"] for r in late), round=rnd)
        R.add(f"as-inst/{p.key}/{v}", inst, round=rnd, samples=samples)
        if not instances:
            up = next((t for t, n in samples if n >= 2), None)
            down = next((t - step_s for t, n in samples if t > step_s and n == 1), None)
            R.add(f"as-peak/{p.key}/{v}", max(n for _, n in samples), round=rnd)
            if up is not None:
                R.add(f"as-up/{p.key}/{v}", up, round=rnd)
            else:
                R.fail(f"as-up/{p.key}/{v}", "never scaled up")
            if down is not None:
                R.add(f"as-down/{p.key}/{v}", down, round=rnd)
            else:
                R.fail(f"as-down/{p.key}/{v}", f"not back to 1 within {tail_s} s")
        if failed:
            R.note(S, f"{p.key} {v} round {rnd + 1}: {failed} failed requests")

    def body(p, rnd):
        for v in AUTOSCALE_VARIANTS:
            if p.key == "pm2" and not v.startswith("fixed"):
                continue
            try:
                one(p, rnd, v)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001
                ctx.log(f"[autoscale] {p.label} {v}: failed: {short(e)}")
                for m in ("rps", "p99", "p99late", "inst"):
                    R.fail(f"as-{m}/{p.key}/{v}", short(e))
            finally:
                try:
                    p.delete_all(timeout=60)
                except Exception:  # noqa: BLE001
                    pass

    for_rounds(ctx, "autoscale", body, lambda k: [])


# ---------------------------------------------------------------------------------------------
# 14: what the daemon costs while it samples 1, 100 and 1,000 instances (issue #15)

def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sampling(ctx):
    S = "14 the daemon while it samples its instances"
    R = ctx.results
    counts = ctx.cfg["sampling_counts"]
    window = ctx.cfg["sampling_window_s"]
    for n in counts:
        R.row(S, f"daemon CPU with {n} instance(s), idle apps", "%", "lower", f"smp-cpu{n}/drove", f"smp-cpu{n}/pm2")
        R.row(S, f"daemon RSS with {n} instance(s)", "MiB", "lower", f"smp-rss{n}/drove", f"smp-rss{n}/pm2")
    R.note(S, f"`sleeper` is /bin/sleep in fork mode, scaled to each count; once every instance is online and "
              f"{ctx.cfg['settle_s']} s have passed, the daemon's CPU time (utime + stime) is read over {window} s "
              "with no client connected (100 % = a core). drove samples every instance's process tree each second "
              "(CPU and memory for list, monit, metrics, autoscaling, max_memory_restart); PM2's God daemon reads "
              "usage when a client asks (pidusage).")

    def body(p, rnd):
        k = p.key
        p.ping()
        p.start("/bin/sleep", name="sleeper", extra=["--interpreter", "none", "--", "100000"])
        wait_online(p, 1, 30, name="sleeper")
        have = 1
        for n in counts:
            if n > have:
                p.cli("scale", "sleeper", str(n), timeout=max(120, n))
                wait_online(p, n, max(120, n), name="sleeper", interval=0.5)
                have = n
            time.sleep(ctx.cfg["settle_s"])
            daemon = p.daemon_pid()
            before = cpu_seconds(daemon)
            time.sleep(window)
            R.add(f"smp-cpu{n}/{k}", (cpu_seconds(daemon) - before) / window * 100.0, round=rnd)
            R.add(f"smp-rss{n}/{k}", sample_rss_mib(daemon), round=rnd)
        leftovers = p.kill()
        if leftovers:
            raise CmdError(f"'kill' left {len(leftovers)} process(es) running")

    for_rounds(ctx, "sampling", body, lambda k: [f"smp-{m}{n}/{k}" for n in counts for m in ("cpu", "rss")])


# Rough seconds for one round of each scenario (both products) on 2 quiet cores, full sizes: what the
# time budget keeps in reserve for the scenarios still to come.
ROUND_ESTIMATE_S = {"fleet": 35, "crash": 18, "cluster": 35, "reload": 40, "logs": 8, "appmem": 12, "worker": 15,
                    "stall": 120, "runtime": 10, "daemoncrash": 15,
                    "autoscale": 240, "sampling": 120}

SCENARIOS = {
    "fleet": fleet,
    "crash": crash,
    "cluster": cluster,
    "reload": reloads,
    "logs": logs,
    "appmem": appmem,
    "worker": worker,
    "stall": stall,
    "runtime": runtime,
    "daemoncrash": daemoncrash,
    "autoscale": autoscale,
    "sampling": sampling,
}
ALIASES = {"list": "fleet", "rss": "fleet", "start": "fleet", "restart": "reload", "reloads": "reload",
           "memory": "appmem", "throughput": "cluster", "log": "logs", "queue": "worker",
           "jlist": "stall", "scale": "stall", "entrypoint": "runtime", "container": "runtime",
           "survival": "daemoncrash", "autoscaling": "autoscale",
           "monitoring": "sampling"}
