#!/usr/bin/env bash
# deploy/check.sh: the container and orchestrator examples, checked on a machine without Docker,
# Kubernetes or Nomad (ctest: Deploy.DockerfileStepsAndManifests).
#   check.sh <scratch-dir>
#
# 1. Manifests: deploy/kubernetes/*.yaml parsed (PyYAML) and deploy/nomad/*.nomad.hcl parsed (an
#    HCL subset parser), their fields checked against the Dockerfile and the example's ecosystem
#    file (deploy/validate.py): entrypoint, ecosystem file, --env, ports, probes, grace period and
#    kill_timeout >= the largest app kill_timeout + margin, user id. With kubectl: `kubectl
#    kustomize` (offline). With a reachable Docker daemon: `docker build --check`. With nomad:
#    `nomad fmt` parses the job.
# 2. The Dockerfile's build stage, replayed here: the same commands in the same order, /src,
#    /build and /opt/drove mapped to the source tree and scratch directories. apt-get is never
#    run: its packages must be installed already (dpkg), else the test is skipped (exit 77).
# 3. The runtime stage: what it COPYs from the build stage exists in the scratch install (the
#    ENTRYPOINT and HEALTHCHECK programs), the example is copied to a scratch WORKDIR, ENV is
#    applied (DROVE_HOME: a private temporary home), then ENTRYPOINT + CMD run with a bounded
#    timeout: the app must answer on its port (127.0.0.1; the port is moved to a free one, this
#    machine is shared), HEALTHCHECK must pass, SIGTERM must stop every app and exit 0.
#    Skipped, with a message, when the build has no `drove runtime`.
# Everything this script starts is stopped by pid; the scratch directory is removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
scratch=${1:?usage: check.sh <scratch-dir>}
SKIP=77

runtime_pid=""
extra_pids=()
cleanup() {
  local p
  for p in $runtime_pid "${extra_pids[@]}"; do
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then continue; fi
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  [ "${DROVE_DEPLOY_KEEP:-0}" = 1 ] || rm -rf "$scratch"
}
trap cleanup EXIT
rm -rf "$scratch"
mkdir -p "$scratch"
failures=()
fail() { echo "FAIL: $*"; failures+=("$*"); }

echo "== tools: $(for t in docker kubectl kubeconform nomad; do
  if command -v "$t" >/dev/null; then printf '%s=yes ' "$t"; else printf '%s=no ' "$t"; fi; done)"
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: python3's yaml module is missing (scripts/setup.sh installs python3-yaml)"; exit 1; }

# ---- 1. manifests -------------------------------------------------------------------------------
python3 "$here/validate.py" manifests "$repo" || fail "manifests (above)"
if command -v kubectl >/dev/null; then
  if kubectl kustomize "$repo/deploy/kubernetes" >"$scratch/kustomized.yaml" 2>"$scratch/kustomize.err"; then
    echo "  ok   kubectl kustomize deploy/kubernetes ($(grep -c '^kind:' "$scratch/kustomized.yaml") objects)"
  else
    cat "$scratch/kustomize.err"; fail "kubectl kustomize deploy/kubernetes"
  fi
  echo "  note kubectl's schema validation needs an API server: not run"
else
  echo "  note kubectl not installed: the manifests are checked by validate.py only"
fi
command -v kubeconform >/dev/null && echo "  note kubeconform fetches its schemas from the network: not run"
if command -v nomad >/dev/null; then
  for f in "$repo"/deploy/nomad/*.nomad.hcl; do
    if nomad fmt -list=false -write=false "$f" >/dev/null; then echo "  ok   nomad fmt parses $(basename "$f")"
    else fail "nomad fmt $(basename "$f")"; fi
  done
else
  echo "  note nomad not installed: the job is checked by validate.py's parser (structure and fields), not by Nomad"
fi
if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
  if (cd "$repo" && timeout 300 docker build --check . >"$scratch/docker-check.out" 2>&1); then echo "  ok   docker build --check"
  else cat "$scratch/docker-check.out"; fail "docker build --check"; fi
else
  echo "  note no reachable Docker daemon: the Dockerfile's steps are replayed on this machine instead"
fi

# ---- 2. the build stage, replayed -----------------------------------------------------------------
src=$repo
# The build tree is the scratch directory itself: beside the project's build tree and at its
# depth, the compiler sees the same relative paths and ccache answers (CCACHE_BASEDIR below).
build=$scratch
prefix=$scratch/opt-drove
app=$scratch/app
home=$scratch/home
# validate.py plan assigns these (image paths mapped to the host's):
build_steps=() runtime_steps=() entrypoint=() cmd=() healthcheck=() example_port="" example_kill_ms=""
eval "$(python3 "$here/validate.py" plan "$repo" "/src=$src" "/build=$build" "/opt/drove=$prefix" \
          "/app=$app" "/home/drove=$home")"
# The scratch build reuses the compiler cache of the project's build trees.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$repo")} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

missing_packages() {  # the packages of an APT step that dpkg does not have installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s ' "$p"
  done
}

echo "== the Dockerfile's build stage, replayed"
for step in "${build_steps[@]}"; do
  kind=${step%% *}
  arg=${step#* }
  case $kind in
    FROM) echo "-- FROM $arg: this machine (Debian 12 expected: $(grep -m1 '^PRETTY_NAME=' /etc/os-release | cut -d= -f2- | tr -d '"'))" ;;
    APT)
      # shellcheck disable=SC2086
      missing=$(missing_packages $arg)
      if [ -n "$missing" ]; then
        echo "SKIP: the build stage's apt packages are not installed here: $missing(scripts/setup.sh installs them; this test never runs apt-get)"
        exit $SKIP
      fi
      echo "-- RUN apt-get install $arg: all installed (dpkg), not run" ;;
    WORKDIR) mkdir -p "$arg"; cd "$arg"; echo "-- WORKDIR $arg" ;;
    CONTEXT)
      [ "$arg" = "$src" ] || { echo "FAIL: the build stage copies the context to $arg, expected the source dir"; exit 1; }
      echo "-- COPY . $arg: the source tree itself" ;;
    RUN)
      echo "-- RUN $arg"
      start=$SECONDS
      if ! timeout 1200 bash -euo pipefail -c "$arg" >"$scratch/step.log" 2>&1; then
        tail -40 "$scratch/step.log"
        echo "FAIL: the build stage's step failed: $arg"
        exit 1
      fi
      echo "   ($((SECONDS - start)) s)" ;;
    *) echo "FAIL: unknown build step $step"; exit 1 ;;
  esac
done

# ---- 3. the runtime stage -------------------------------------------------------------------------
echo "== the Dockerfile's runtime stage"
run_skip=""
mkdir -p "$home"
for step in "${runtime_steps[@]}"; do
  kind=${step%% *}
  arg=${step#* }
  case $kind in
    FROM) echo "-- FROM $arg: this machine" ;;
    APT)
      # shellcheck disable=SC2086
      missing=$(missing_packages $arg)
      if [ -n "$missing" ]; then
        run_skip="the runtime stage's packages are not installed here: $missing"
        echo "-- RUN apt-get install $arg: missing: $missing"
      else
        echo "-- RUN apt-get install $arg: all installed (dpkg), not run"
      fi ;;
    RUN) echo "-- RUN $arg: not replayed (the image's own user; here the test runs as $(id -un))" ;;
    COPYFROM)
      read -r from to <<<"$arg"
      echo "-- COPY --from=build $from -> $to"
      if [ ! -e "$from" ]; then
        fail "the runtime stage copies $from from the build stage: not in the scratch install"
      else
        [ "${from%/}" = "${to%/}" ] || { mkdir -p "$to"; cp -a "$from/." "$to/"; }
      fi ;;
    COPY)
      read -r from to <<<"$arg"
      echo "-- COPY $from -> $to"
      mkdir -p "$to"
      cp -a "$repo/$from/." "$to/" ;;
    ENV)
      read -r key value <<<"$arg"
      value=${value//\$PATH/$PATH}
      export "$key=$value"
      echo "-- ENV $key=$value" ;;
    WORKDIR) mkdir -p "$arg"; cd "$arg"; echo "-- WORKDIR $arg" ;;
    USER) echo "-- USER $arg: not replayed (runs as $(id -un))" ;;
    *) echo "-- $step" ;;
  esac
done

# The programs the image runs, from the copied bin directory (through the ENV's PATH).
for program in "${entrypoint[0]}" "${healthcheck[0]}"; do
  path=$(command -v "$program" || true)
  case $path in
    "$prefix"/*)
      if [ -L "$path" ]; then echo "  ok   $program: $path -> $(readlink "$path")"; else echo "  ok   $program: $path"; fi ;;
    *) fail "$program is not in the install the runtime stage copies: expected $prefix/bin/$program (found: ${path:-nothing})" ;;
  esac
done
readelf -d "$prefix/bin/drove" 2>/dev/null | grep NEEDED | sed 's/^.*NEEDED)/  note needs/' || true

if ((${#failures[@]})); then
  printf 'FAILED: %s\n' "${failures[@]}"
  exit 1
fi

# ---- 4. ENTRYPOINT + CMD ----------------------------------------------------------------------------
help_out=$("$prefix/bin/drove" runtime --help 2>&1) && grep -qi 'usage:.*runtime' <<<"$help_out" ||
  run_skip=${run_skip:-"drove runtime not available in this build: skipping the entrypoint run"}
if [ -n "$run_skip" ]; then
  echo "SKIP (entrypoint run only): $run_skip"
  echo "== deploy check passed (the entrypoint run skipped)"
  exit 0
fi

# This machine is shared: the example's port moves to a free one (in the image the app has the
# container's network to itself).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "${cmd[0]}" "$port" <<'EOF'
import json, sys
path, port = sys.argv[1], int(sys.argv[2])
doc = json.load(open(path))
for a in doc["apps"] if isinstance(doc, dict) and "apps" in doc else doc:
    a.setdefault("env", {})["PORT"] = port
    if "port" in a:
        a["port"] = port
json.dump(doc, open(path, "w"), indent=2)
EOF
echo "== ENTRYPOINT + CMD: ${entrypoint[*]} ${cmd[*]} (in $PWD, DROVE_HOME=$DROVE_HOME, port $example_port -> $port)"
"${entrypoint[@]}" "${cmd[@]}" >"$scratch/runtime.out" 2>&1 &
runtime_pid=$!

answered=""
for _ in $(seq 150); do
  kill -0 "$runtime_pid" 2>/dev/null || break
  if answered=$(curl -s --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null) && [ -n "$answered" ]; then break; fi
  answered=""
  sleep 0.2
done
if [ -z "$answered" ]; then
  tail -40 "$scratch/runtime.out"
  echo "FAIL: the example did not answer on 127.0.0.1:$port within 30 s"
  exit 1
fi
echo "  ok   the app answers on 127.0.0.1:$port: $answered"

if timeout 10 "${healthcheck[@]}" >"$scratch/health.out" 2>&1; then
  echo "  ok   HEALTHCHECK ${healthcheck[*]}: exit 0"
else
  cat "$scratch/health.out"; fail "HEALTHCHECK ${healthcheck[*]} failed"
fi
# `drove ping` starts a daemon when none answers: the one answering must be the entrypoint.
if [ -f "$DROVE_HOME/drove.pid" ]; then
  daemon_pid=$(tr -dc 0-9 <"$DROVE_HOME/drove.pid")
  if [ "$daemon_pid" != "$runtime_pid" ]; then
    extra_pids+=("$daemon_pid")
    fail "the daemon answering (pid $daemon_pid) is not the entrypoint (pid $runtime_pid)"
  fi
fi
app_pids=$(timeout 10 "$prefix/bin/drove" jlist 2>/dev/null |
           python3 -c 'import json,sys; print(" ".join(str(a["pid"]) for a in json.load(sys.stdin) if a.get("pid")))' || true)
echo "  ok   apps' pids: ${app_pids:-none}"
[ -n "$app_pids" ] || fail "drove jlist shows no running app"

bound=$(( (example_kill_ms + 999) / 1000 + 10 ))
echo "-- SIGTERM to the entrypoint (pid $runtime_pid), exit expected within ${bound} s"
kill -TERM "$runtime_pid"
for _ in $(seq $((bound * 10))); do kill -0 "$runtime_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$runtime_pid" 2>/dev/null; then
  fail "the entrypoint did not exit within ${bound} s of SIGTERM"
else
  status=0
  wait "$runtime_pid" || status=$?
  runtime_pid=""
  if [ "$status" = 0 ]; then echo "  ok   exit status 0"; else fail "exit status $status after SIGTERM (0 expected)"; fi
fi
for p in $app_pids; do
  if kill -0 "$p" 2>/dev/null; then fail "app process $p still running after the entrypoint exited"; fi
done
if grep -q "server start http://127.0.0.1:$port" "$scratch/runtime.out"; then
  echo "  ok   the app's output reached the entrypoint's stdout"
else
  fail "the app's output ('server start ...') is not in the entrypoint's output"
fi
echo "-- the entrypoint's output (last lines):"
tail -8 "$scratch/runtime.out" | sed 's/^/   | /'

if ((${#failures[@]})); then
  printf 'FAILED: %s\n' "${failures[@]}"
  exit 1
fi
echo "== deploy check passed"
