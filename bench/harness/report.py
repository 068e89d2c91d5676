"""Machine description, docs/benchmarks.md and the gnuplot PNGs."""
import os
import platform
import shutil
import subprocess

from .results import markdown_table


def _out(argv, cwd=None):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=cwd,
                              stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine(root, args, ctx):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    os_name = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    commit = _out(["git", "rev-parse", "--short", "HEAD"], cwd=root) or "?"
    dirty = _out(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!docs"], cwd=root)
    from .products import PM2, Drove
    drove_v = Drove(args.drove, os.path.join(ctx.tmp, "probe-version"), ctx.tracker, ctx.base_env).version() \
        if os.path.exists(args.drove) else "not built"
    pm2_v = PM2(args.pm2, os.path.join(ctx.tmp, "probe-version-pm2"), ctx.tracker, ctx.base_env).version() \
        if os.path.exists(args.pm2) else "not installed"
    wrk_v = _out(["sh", "-c", "wrk --version 2>&1 | head -1"]).split(" Copyright")[0]
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": os_name,
        "node": _out(["node", "--version"]),
        "pm2": pm2_v,
        "drove": drove_v,
        "drove_commit": commit + (" (+ local changes)" if dirty else ""),
        "wrk": wrk_v,
        "hyperfine": _out(["hyperfine", "--version"]),
        "python": platform.python_version(),
        "loadavg_start": loadavg(),
    }


SCENARIO_DOCS = """\
Every scenario runs on drove and on PM2 alternately (drove, PM2, drove, PM2, …), each
product-round with a fresh home directory (`DROVE_HOME`, `PM2_HOME` under a temporary directory)
and so a fresh daemon, stopped with the product's own `kill` afterwards (then verified by pid).
Medians are over every sample of every round; `[min–max]` is the spread.

1. **list latency**: wall time of one `drove list` / `pm2 list` (hyperfine, `-N`, after warm-up
   runs) with 1 app and with N apps (N = 100; 20 in `--quick`).
2. **daemon RSS**: `VmRSS` of the daemon (`$DROVE_HOME/drove.pid`, `$PM2_HOME/pm2.pid`) with no
   app, 1, 10 and N apps (a node script that only runs `setInterval`).
3. **start N apps**: one CLI call starting N distinct scripts (an ecosystem JSON file when both
   products load one, else `start a.js b.js …`); time until the CLI returns and until `jlist`
   shows N apps online; then the time `kill` takes until every process is gone.
4. **crash → replacement**: SIGKILL of the app's pid, then (a) polling `jlist` until a new pid is
   online (so it includes one CLI round-trip), (b) the time until the app's own first line of
   code runs again (the app writes `performance.timeOrigin + performance.now()` to a file first
   thing; no CLI polling during these samples).
5. **cluster throughput**: a node `http` hello app on 2 workers (`-i 2`; every drove `--lb`
   policy when drove has the flag), wrk with keep-alive and with `Connection: close`; one plain
   `node app.js` process as the baseline.
6. **reload/restart under load**: wrk with `Connection: close` against a 2-worker cluster app
   while the harness runs 3 `reload` (then, separately, 3 `restart`), 0.5 s apart: requests served,
   failed requests (%), non-2xx responses and socket errors (connect + read + write + timeout).
7. **log throughput**: an app writes N short lines to stdout as fast as it can (one write per
   line like `console.log`, then again with 1000 lines per write, which makes the manager the
   bottleneck), then a marker line: lines/s from the app's first line until the marker is in the
   out log file; lines lost
   (distinct line numbers missing from the file); daemon CPU (utime + stime from
   `/proc/<pid>/stat`) over the run, and the app's CPU.
8. **per-app memory**: RSS and private dirty memory of an idle node app's process under each manager against the
   same app run plainly with `node app.js`; the number of processes besides the app (the daemon
   and anything else it runs).
9. **cluster app that never listens**: an idle node script (a queue worker: never calls
   `listen()`) started with `-i 4`: time from the start command until `jlist` shows 4 online;
   then SIGKILL of one instance, 1.2 s after it is online, until `jlist` shows its new pid
   online.
13. **autoscale under a load step**: a CPU-bound app (10 ms of CPU per request) under a 15 s
   step of `wrk -t2 -c8` (five 3 s runs with `--latency`), then 20 s idle: fixed 1 and fixed 4
   instances under both products, and drove's autoscaling 1..4 on CPU and on seed 002's
   load-average rule: throughput, p99 (the worst 3 s segment, over the step and after its
   first 6 s), instance-seconds counted from `jlist` every 0.25 s, when the 2nd instance came and
   when the count was back to 1 (PM2 has no autoscaling).
14. **the daemon while it samples**: `/bin/sleep` scaled to 1, 100 and 1,000 instances; the
   daemon's CPU time over 10 s with no client connected, and its RSS.
"""


def write_docs(root, data, results):
    meta = data["meta"]
    img_dir = os.path.join(root, "docs", "img")
    os.makedirs(img_dir, exist_ok=True)
    imgs = plots(results, img_dir, meta)
    notes = []
    for scen, lst in data.get("notes", {}).items():
        for n in lst:
            notes.append(f"- *{scen}*: {n}")
    failures = {}  # (product, reason) -> [row label]
    for r in results.rows:
        for product, key in r.keys.items():
            s = data["series"].get(key)
            if s and s["errors"] and not s["samples"]:
                failures.setdefault((product, s["errors"][0]), []).append(f"{r.scenario}: {r.metric}")
    failures = [f"- **{'drove' if prod == 'drove' else 'PM2'}**, {_rows_summary(rows)}: {reason}"
                for (prod, reason), rows in failures.items()]
    md = [
        "# Benchmarks: drove vs PM2",
        "",
        "<!-- Generated by bench/run.sh; do not edit by hand: rerun `bench/run.sh`. -->",
        "",
        f"Run of {meta['started']} ({meta['mode']} mode, {meta['config']['rounds']} round(s) per scenario, "
        f"{meta['seconds']:.0f} s in all). Ratios are drove/PM2 medians; each row says whether lower or "
        "higher is better.",
        *[f"Scenarios {', '.join(m['scenarios'])} come from a later run, of {m['started']} (commit "
          f"{m['drove_commit']}, {m['config']['rounds']} round(s), {m['seconds']:.0f} s), merged into this "
          "report (`bench/bench.py --merge`)." for m in meta.get("merged", [])],
        "",
        *([f"> **Quick smoke run** (`--quick`: 1 round, small sizes, 1 s loads): not a measurement; "
            "run `bench/run.sh` for figures.", ""] if meta["mode"] == "quick" else []),
        *([f"> **The machine was busy** (load average {meta['loadavg_start']} at the start on {meta['nproc']} "
            "CPUs): other work shared the cores, so every figure is noisy; rerun on an idle machine.", ""]
          if _busy(meta) else []),
        "## Machine",
        "",
        "| | |", "|---|---|",
        f"| CPUs (`nproc`) | {meta['nproc']} × {meta['cpu']} |",
        f"| memory | {meta['memory']} |",
        f"| OS, kernel | {meta['os']}, Linux {meta['kernel']} |",
        f"| node | {meta['node']} |",
        f"| PM2 | {meta['pm2']} |",
        f"| drove | {meta['drove']} (commit {meta['drove_commit']}) |",
        f"| tools | {meta['wrk']}, {meta['hyperfine']}, Python {meta['python']} |",
        f"| load average | {meta['loadavg_start']} at the start, {meta['loadavg_end']} at the end |",
        "",
        "## Results",
        "",
        markdown_table(results),
        "",
    ]
    if notes:
        md += ["Notes:", "", *notes, ""]
    if failures:
        md += ["Not measured (the scenario failed on that product):",
               "", *failures, ""]
    for title, path in imgs:
        md += [f"![{title}](img/{os.path.basename(path)})", ""]
    md += [
        "## What each scenario measures",
        "",
        SCENARIO_DOCS,
        "## Reproduce",
        "",
        "```sh",
        "bench/run.sh                 # everything (~10 min on 2 cores); rewrites this page and docs/img/",
        "bench/run.sh --quick         # smoke run: 1 round, tiny sizes (does not touch the docs)",
        "bench/run.sh --only cluster  # one scenario: fleet (list, rss, start), crash, cluster, reload, logs, appmem, worker",
        "```",
        "",
        "`bench/run.sh` installs what is missing (wrk, hyperfine, gnuplot-nox from Debian packages; PM2 7 "
        "into `bench/.prefix` with npm; drove into `build/`), then runs `bench/bench.py`. Every sample is "
        "kept in `bench/results/<timestamp>.json`. Run it on an otherwise idle machine: the load generator, the "
        "daemon and the apps share the same cores, so other work skews every figure.",
        "",
    ]
    path = os.path.join(root, "docs", "benchmarks.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    return path, [p for _, p in imgs]


def _gnuplot(script, cwd):
    if not shutil.which("gnuplot"):
        return False
    try:
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60, cwd=cwd)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def plots(results, img_dir, meta):
    made = []
    title_suffix = f"({meta['nproc']} CPUs, {meta['mode']} run)"
    # Throughput bars: one group per connection mode, one bar per product/policy.
    series = []
    for r in results.rows:
        if not r.scenario.startswith("5 "):
            continue
        for label, key in ((_variant_label(r), r.keys["drove"]), ("PM2 cluster", r.keys["pm2"]),
                           ("plain node (1 process)", r.baseline)):
            if key and label not in [s[0] for s in series]:
                if any(results.stats(key.replace("cl-ka/", f"cl-{m}/").replace("cl-close/", f"cl-{m}/"))
                       for m in ("ka", "close")):
                    series.append((label, key))
    series.sort(key=lambda s: 0 if s[0].startswith("drove") else 1 if s[0].startswith("PM2") else 2)
    if series:
        dat = os.path.join(img_dir, ".throughput.dat")
        labels = [s[0] for s in series]
        with open(dat, "w") as f:
            f.write("mode " + " ".join(f'"{l}"' for l in labels) + "\n")
            for mode, mode_label in (("ka", "keep-alive"), ("close", "Connection: close")):
                vals = []
                for _, key in series:
                    key = key.replace("cl-ka/", f"cl-{mode}/").replace("cl-close/", f"cl-{mode}/")
                    st = results.stats(key)
                    vals.append(f"{st['median']:.0f}" if st else "0")
                f.write(f'"{mode_label}" ' + " ".join(vals) + "\n")
        png = os.path.join(img_dir, "throughput.png")
        drove_shades = ["#5b2a86", "#7d4fb0", "#a27fd1", "#c6b0ea"]
        colours, plotted = [], []
        for i, (label, _) in enumerate(series):
            if label.startswith("drove"):
                colours.append(drove_shades[len([c for c in plotted if c.startswith("drove")]) % len(drove_shades)])
            else:
                colours.append("#2e8b57" if label.startswith("PM2") else "#9a9a9a")
            plotted.append(label)
        missing = "" if any(l.startswith("drove") for l in plotted) else \
            'set label "drove: n/a (failed; see the table)" at graph 0.02, graph 0.95 tc rgb "#5b2a86"\n'
        plot = ", ".join(f'"{dat}" using {i + 2}:xtic(1) title columnheader({i + 2}) lc rgb "{c}"'
                         for i, c in enumerate(colours))
        script = f"""
set terminal pngcairo size 900,480 font "sans,10"
set output "{png}"
set title "HTTP hello, 2 workers: requests/s (median; higher is better) {title_suffix}"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top
set ylabel "requests/s"
set yrange [0:*]
set grid ytics
{missing}plot {plot}
"""
        if _gnuplot(script, img_dir):
            made.append(("Cluster throughput", png))
        os.remove(dat)
    # Daemon RSS against the number of apps.
    counts = []
    for r in results.rows:
        if r.scenario.startswith("2 "):
            n = 0 if r.metric.startswith("idle") else int(r.metric.split()[0])
            counts.append((n, r.keys["drove"], r.keys["pm2"]))
    if counts and any(results.stats(k) for _, a, b in counts for k in (a, b)):
        dat = os.path.join(img_dir, ".rss.dat")
        with open(dat, "w") as f:
            f.write("# apps drove drove_min drove_max pm2 pm2_min pm2_max\n")
            for n, a, b in counts:
                row = [str(n)]
                for key in (a, b):
                    st = results.stats(key)
                    row += [f"{st['median']:.2f}", f"{st['min']:.2f}", f"{st['max']:.2f}"] if st else ["NaN"] * 3
                f.write(" ".join(row) + "\n")
        png = os.path.join(img_dir, "daemon-rss.png")
        script = f"""
set terminal pngcairo size 900,480 font "sans,10"
set output "{png}"
set title "Daemon RSS against the number of apps (lower is better) {title_suffix}"
set datafile missing "NaN"
set key left top
set xlabel "apps"
set ylabel "MiB"
set yrange [0:*]
set grid
set offsets 0.2, 0.2, 0, 0
plot "{dat}" using 0:2:3:4:xtic(1) with yerrorlines lw 2 pt 7 title "drove", \\
     "{dat}" using 0:5:6:7 with yerrorlines lw 2 pt 5 title "PM2"
"""
        if _gnuplot(script, img_dir):
            made.append(("Daemon RSS against the number of apps", png))
        os.remove(dat)
    return made


def _busy(meta):
    try:
        return float(meta["loadavg_start"].split()[0]) > 0.5 * meta["nproc"]
    except (ValueError, KeyError, IndexError):
        return False


def _rows_summary(rows):
    by_scenario = {}
    for label in rows:
        scen, metric = label.split(": ", 1)
        by_scenario.setdefault(scen, []).append(metric)
    return "; ".join(f"{scen} ({len(m)} row{'s' if len(m) > 1 else ''})" for scen, m in by_scenario.items())


def _variant_label(row):
    if "--lb " in row.metric:
        return "drove " + row.metric.split("--lb ", 1)[1]
    return "drove"
