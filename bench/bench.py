#!/usr/bin/env python3
"""drove vs PM2 benchmark harness (stdlib only). Run it through bench/run.sh, which installs the
tools, PM2 and drove first. See docs/benchmarks.md for what each scenario measures."""
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from harness import procs, report  # noqa: E402
from harness.products import PM2, CmdError, Drove, run_cmd, wait_until  # noqa: E402
from harness.results import Results, text_table  # noqa: E402
from harness.scenarios import ALIASES, ROUND_ESTIMATE_S, SCENARIOS, short  # noqa: E402

FULL = {
    "rounds": 3, "fleet_n": 100, "list_runs": 10, "list_warmup": 2, "settle_s": 1.0, "stable_s": 1.5,
    "crash_samples": 3, "crash_uptime_s": 1.2,
    "wrk_threads": 2, "wrk_conns": 50, "wrk_s": 4, "wrk_warmup_s": 1,
    "reload_ops": 3, "reload_conns": 20,
    "log_lines": 300_000, "log_timeout_s": 120,
    "appmem_settle_s": 3.0, "budget_s": 570, "stall_n": 1000,
    "autoscale_step_s": 15, "autoscale_tail_s": 20,
    "sampling_counts": [1, 100, 1000], "sampling_window_s": 10,
}
QUICK = dict(FULL, rounds=1, fleet_n=20, list_runs=3, list_warmup=1, settle_s=0.5, stable_s=1.0,
             crash_samples=2, wrk_conns=20, wrk_s=1, wrk_warmup_s=1, log_lines=20_000, log_timeout_s=60,
             appmem_settle_s=1.5, budget_s=300, stall_n=50, sampling_counts=[1, 20], sampling_window_s=3)


class Interrupted(KeyboardInterrupt):
    pass


class Ctx:
    def __init__(self, args, cfg, tmp, products):
        self.args = args
        self.cfg = cfg
        self.rounds = cfg["rounds"]
        self.tmp = tmp
        self.products = products
        self.apps = os.path.join(HERE, "apps")
        self.tracker = procs.Tracker()
        self.results = Results()
        self.t_start = time.monotonic()
        self.live_products = []
        self.plain = []
        self.start_method = "ecosystem"
        self._lb = None
        self.base_env = {k: v for k, v in os.environ.items() if k not in ("PM2_HOME", "DROVE_HOME")}
        self.homes = 0

    def log(self, msg):
        print(f"[bench {time.monotonic() - self.t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def remaining(self):
        return self.cfg["budget_s"] - (time.monotonic() - self.t_start)

    def reserve_after(self, scen):
        """Seconds to keep for one round of every selected scenario after scen."""
        later = self.args.scenarios[self.args.scenarios.index(scen) + 1:] if scen in self.args.scenarios else []
        scale = 0.3 if self.args.quick else 1.0
        est = dict(ROUND_ESTIMATE_S)
        if "cluster" in later:  # one more wrk pair per extra drove --lb policy
            est["cluster"] += 13 * max(0, len(self.drove_lb_policies()) - 1)
        return sum(est.get(s, 20) * scale for s in later)

    def new_product(self, key, tag):
        self.homes += 1
        home = os.path.join(self.tmp, f"{self.homes:03d}-{tag}-{key}")
        p = (Drove(self.args.drove, home, self.tracker, self.base_env) if key == "drove"
             else PM2(self.args.pm2, home, self.tracker, self.base_env))
        self.live_products.append(p)
        return p

    def stop_product(self, p, scen):
        try:
            leftovers = p.kill()
        except Exception as e:  # noqa: BLE001
            leftovers = [f"kill failed: {short(e)}"] + p.tracker.kill_leftovers(p.key)
        if leftovers:
            self.log(f"[{scen}] {p.label}: had to SIGKILL: {', '.join(leftovers)}")
            self.results.note("leftovers", f"{scen}: {p.label}: had to SIGKILL {len(leftovers)} process(es)")
        if p in self.live_products:
            self.live_products.remove(p)

    def start_plain(self, argv, env):
        e = dict(self.base_env)
        e.update({k: str(v) for k, v in env.items()})
        proc = subprocess.Popen(["node", *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=e)
        self.plain.append(proc)
        self.tracker.add(proc.pid, "node")
        return proc.pid

    def stop_plain(self):
        for proc in self.plain:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.plain = []
        self.tracker.kill_leftovers("node")

    def fleet_files(self, n):
        """n copies of the idle app (distinct scripts, names app-000…), and ecosystem files."""
        d = os.path.join(self.tmp, "fleet")
        os.makedirs(d, exist_ok=True)
        src = os.path.join(self.apps, "idle.js")
        scripts = []
        for i in range(max(n, 10)):
            path = os.path.join(d, f"app-{i:03d}.js")
            if not os.path.exists(path):
                shutil.copyfile(src, path)
            scripts.append(path)

        def eco(name, paths):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                json.dump({"apps": [{"name": os.path.basename(s)[:-3], "script": s} for s in paths]}, f, indent=1)
            return path
        return scripts[:n], eco("fleet-9.json", scripts[1:10]), eco(f"fleet-{n}.json", scripts[:n])

    def drove_lb_policies(self):
        if self._lb is None:
            self._lb = Drove(self.args.drove, os.path.join(self.tmp, "probe-lb"), self.tracker,
                             self.base_env).supports_lb() if "drove" in self.products else []
        return self._lb

    def probe_start_method(self):
        """Ecosystem JSON for both products when drove can load one, else one `start a.js b.js`."""
        if "drove" not in self.products:
            return "ecosystem"
        p = Drove(self.args.drove, os.path.join(self.tmp, "probe-eco"), self.tracker, self.base_env)
        self.live_products.append(p)
        try:
            _, eco9, _ = self.fleet_files(10)
            p.ping()
            p.start_many([], "ecosystem", eco9, timeout=30)
            wait_until("9 apps from an ecosystem file", lambda: len(p.jlist()) == 9, 10, 0.1)
            return "ecosystem"
        except Exception as e:  # noqa: BLE001
            self.log(f"drove cannot start an ecosystem JSON file ({short(e)}): both products start "
                     "many apps with one `start a.js b.js …` call")
            return "multi"
        finally:
            self.stop_product(p, "probe")

    def cleanup(self):
        for p in list(self.live_products):
            self.stop_product(p, "cleanup")
        self.stop_plain()
        killed = self.tracker.kill_leftovers(None)
        if killed:
            self.log(f"cleanup: SIGKILLed {', '.join(killed)}")
        live = self.tracker.live(None)
        if live:
            self.log(f"WARNING: processes still alive after cleanup: {live}")
        else:
            self.log(f"cleanup verified: none of the {self.tracker.seen} processes recorded (daemons, apps, "
                     "load generators) is alive")
        return live


def parse_args():
    ap = argparse.ArgumentParser(description="drove vs PM2 benchmarks (see docs/benchmarks.md)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round, tiny durations and sizes")
    ap.add_argument("--only", action="append", default=[], metavar="SCENARIO",
                    help=f"run only these scenarios (repeatable or comma-separated): {', '.join(SCENARIOS)} "
                         f"(aliases: {', '.join(f'{a}={s}' for a, s in ALIASES.items())})")
    ap.add_argument("--rounds", type=int, help="rounds per scenario (default 3, --quick 1)")
    ap.add_argument("--products", default="drove,pm2", help="comma-separated: drove,pm2")
    ap.add_argument("--budget", type=float, help="seconds; later rounds are skipped past it (default 570)")
    ap.add_argument("--docs", dest="docs", action="store_true", default=None,
                    help="regenerate docs/benchmarks.md and docs/img/*.png (default: on for a full run)")
    ap.add_argument("--no-docs", dest="docs", action="store_false")
    ap.add_argument("--drove", default=os.environ.get("DROVE_BIN", os.path.join(ROOT, "build", "drove")))
    ap.add_argument("--pm2", default=os.environ.get("PM2_BIN", os.path.join(HERE, ".prefix", "node_modules", ".bin", "pm2")))
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary homes and logs")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="directory for the JSON results")
    ap.add_argument("--merge", nargs=2, metavar=("BASE", "LATER"),
                    help="run nothing: add the scenarios of results file LATER to BASE (a full run), write "
                         "the merged file next to LATER and regenerate docs/benchmarks.md from it")
    ap.add_argument("--report", metavar="JSON", help="run nothing: print the table of a results file and "
                    "regenerate docs/benchmarks.md and docs/img/ from it")
    args = ap.parse_args()
    names = []
    for item in args.only:
        for name in filter(None, (x.strip() for x in item.split(","))):
            name = ALIASES.get(name, name)
            if name not in SCENARIOS:
                ap.error(f"unknown scenario '{name}' (known: {', '.join(SCENARIOS)})")
            if name not in names:
                names.append(name)
    args.scenarios = [s for s in SCENARIOS if not names or s in names]
    args.product_list = [p for p in ("drove", "pm2") if p in args.products.split(",")]
    if not args.product_list:
        ap.error("--products: give drove, pm2 or both")
    if args.docs is None:
        args.docs = not args.quick and not names and args.product_list == ["drove", "pm2"]
    return args


def merge_results(base_path, later_path):
    """A full run's results with the scenarios of a later, partial run laid over them (their rows,
    series and notes replace the base's of the same scenario); the header says which came later."""
    with open(base_path) as f:
        base = json.load(f)
    with open(later_path) as f:
        later = json.load(f)
    scenarios = sorted({r["scenario"] for r in later["rows"]})
    base["rows"] = [r for r in base["rows"] if r["scenario"] not in scenarios] + later["rows"]
    base["series"].update(later["series"])
    base["notes"].update(later.get("notes", {}))
    merged_meta = {k: later["meta"][k] for k in ("started", "drove_commit", "config", "seconds")}
    merged_meta["scenarios"] = [s.split(" ", 1)[0] for s in scenarios]
    base["meta"].setdefault("merged", []).append(merged_meta)
    out = later_path.replace(".json", "-merged.json")
    with open(out, "w") as f:
        json.dump(base, f, indent=1)
    print(f"[bench] merged results: {out}")
    return report_only(out)


def report_only(path):
    with open(path) as f:
        data = json.load(f)
    results = Results.from_json(data)
    print(text_table(results))
    md, imgs = report.write_docs(ROOT, data, results)
    print(f"[bench] wrote {os.path.relpath(md, ROOT)}" + (f" and {', '.join(os.path.relpath(i, ROOT) for i in imgs)}" if imgs else ""))
    return 0


def main():
    args = parse_args()
    if args.merge:
        return merge_results(*args.merge)
    if args.report:
        return report_only(args.report)
    cfg = dict(QUICK if args.quick else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    if args.budget:
        cfg["budget_s"] = args.budget
    for p, path in (("drove", args.drove), ("pm2", args.pm2)):
        if p in args.product_list and not os.path.exists(path):
            sys.exit(f"[bench] {p} not found at {path} (bench/run.sh installs/builds it)")

    def on_signal(signum, frame):
        raise Interrupted(f"signal {signum}")
    # SIGINT too: a shell that starts us in the background without job control ignores it.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    tmp = tempfile.mkdtemp(prefix="drove-bench-", dir="/tmp")
    ctx = Ctx(args, cfg, tmp, args.product_list)
    started = datetime.datetime.now(datetime.timezone.utc)
    meta = report.machine(ROOT, args, ctx)
    meta.update(mode="quick" if args.quick else "full", config=cfg, scenarios=args.scenarios,
                products=args.product_list, started=started.isoformat(timespec="seconds"))
    ctx.log(f"scenarios: {', '.join(args.scenarios)}; products: {', '.join(args.product_list)}; "
            f"{cfg['rounds']} round(s); temp dir {tmp}")
    interrupted = False
    leftovers = []
    try:
        if "fleet" in args.scenarios:
            ctx.start_method = ctx.probe_start_method()
        for name in args.scenarios:
            t0 = time.monotonic()
            try:
                SCENARIOS[name](ctx)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - a broken scenario never stops the others
                ctx.log(f"[{name}] scenario aborted: {short(e)}")
                ctx.results.note(name, f"scenario aborted: {short(e)}")
            ctx.log(f"[{name}] done in {time.monotonic() - t0:.1f}s")
    except KeyboardInterrupt as e:
        interrupted = True
        ctx.log(f"interrupted ({e or 'Ctrl-C'}): cleaning up")
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        leftovers = ctx.cleanup()
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            ctx.log(f"kept {tmp}")

    meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta["seconds"] = round(time.monotonic() - ctx.t_start, 1)
    meta["loadavg_end"] = report.loadavg()
    meta["interrupted"] = interrupted
    meta["leftover_pids"] = leftovers
    data = {"meta": meta, **ctx.results.to_json()}
    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
    print()
    print(text_table(ctx.results))
    for scen, notes in ctx.results.notes.items():
        for n in notes:
            print(f"  note [{scen}]: {n}")
    print(f"\n[bench] {meta['seconds']}s; results: {os.path.relpath(out, ROOT)}")
    if args.docs and not interrupted:
        md, imgs = report.write_docs(ROOT, data, ctx.results)
        print(f"[bench] wrote {os.path.relpath(md, ROOT)}" + (f" and {', '.join(os.path.relpath(i, ROOT) for i in imgs)}" if imgs else ""))
    elif not args.docs:
        print("[bench] docs/benchmarks.md not regenerated (quick, --only or --products run; pass --docs to force)")
    return 130 if interrupted else (1 if leftovers else 0)


if __name__ == "__main__":
    sys.exit(main())
