#!/usr/bin/env bash
# drove vs PM2 benchmarks: installs what is missing, builds drove if needed, runs every scenario,
# prints the table, writes bench/results/<timestamp>.json and (full runs) docs/benchmarks.md.
#   bench/run.sh                 full run (~10 min on 2 cores)
#   bench/run.sh --quick         smoke run: 1 round, tiny sizes
#   bench/run.sh --only cluster  one scenario (fleet|list|rss|start, crash, cluster, reload, logs, appmem, worker, stall, runtime, daemoncrash, autoscale, sampling)
#   bench/run.sh --help          every option
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Tools from Debian packages (idempotent: only what is missing).
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "[bench] installing: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PM2 7, locally (never global).
pm2_bin="${PM2_BIN:-$here/.prefix/node_modules/.bin/pm2}"
if [ ! -e "$pm2_bin" ]; then
  echo "[bench] installing pm2@7 into bench/.prefix"
  npm install --prefix "$here/.prefix" --no-audit --no-fund --loglevel=error pm2@7 >/dev/null
fi

# drove, when not built yet.
drove_bin="${DROVE_BIN:-$root/build/drove}"
if [ ! -x "$drove_bin" ]; then
  echo "[bench] building drove into build/"
  [ -x "$root/scripts/setup.sh" ] && "$root/scripts/setup.sh"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)"
fi

exec python3 "$here/bench.py" --drove "$drove_bin" --pm2 "$pm2_bin" "$@"
