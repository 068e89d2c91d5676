#!/usr/bin/env bash
# Installs what drove needs to build, test and run its examples, from Debian 12 packages.
# Idempotent: only missing packages are installed; safe to run any number of times.
set -euo pipefail

packages=(build-essential cmake pkg-config libuv1-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
          libfmt-dev libncurses-dev libgtest-dev libgmock-dev zlib1g-dev python3 curl procps ccache
          clang-14 libfuzzer-14-dev  # the fuzz targets (scripts/fuzz.sh, ctest -L fuzz)
          clang-format-14 clang-tidy-14  # scripts/lint.sh
          systemd  # systemd-analyze verify of the unit `drove startup` writes (tests)
          zsh man-db  # the installed zsh completion and drove.1 are loaded and rendered (tests)
          python3-yaml  # deploy/check.sh parses the Kubernetes manifests
          tmux  # drove monit is driven in a real terminal (tests)
          libcpp-httplib-dev  # drove-web, the opt-in HTTP endpoint (DROVE_METRICS_ADDR)
          chromium)  # the web dashboard is tested in a real (headless) browser, driven by puppeteer-core
# Node.js runs the cluster examples and the e2e tests (any node >= 18 speaks the same protocol);
# npm installs PM2's @pm2/io for the app-metrics test (below).
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# promtool (`promtool check metrics` validates `drove metrics` in the tests) comes from Debian's
# prometheus package, unpacked into a cache, not installed: installing it would enable and start
# a Prometheus server on this machine (and recommend exporters listening on ports).
tools="${XDG_CACHE_HOME:-$HOME/.cache}/drove/tools"
if ! command -v promtool >/dev/null 2>&1 && [ ! -x "$tools/usr/bin/promtool" ]; then
  echo "[setup] unpacking promtool from Debian's prometheus package into $tools"
  download=$(mktemp -d)
  mkdir -p "$tools"
  (cd "$download" && apt-get download -qq -o APT::Sandbox::User=root prometheus >/dev/null &&
     dpkg-deb -x prometheus_*.deb "$tools")
  rm -rf "$download"
fi
# @pm2/io, PM2's metrics library, for the test that shows an app's own metrics (io.metric,
# counters) in describe, jlist, monit and drove metrics: into the same cache, never into the tree.
npm_prefix="${XDG_CACHE_HOME:-$HOME/.cache}/drove/npm"
if [ ! -f "$npm_prefix/node_modules/@pm2/io/package.json" ]; then
  echo "[setup] installing @pm2/io into $npm_prefix"
  mkdir -p "$npm_prefix"
  npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error @pm2/io@6 >/dev/null
fi
# puppeteer-core drives Debian's chromium for the web dashboard's browser test
# (tests/browser/dashboard_test.js); -core: it downloads no browser of its own. Major 24 speaks
# the DevTools protocol of Debian 12's chromium and runs on its node 18.
if [ ! -f "$npm_prefix/node_modules/puppeteer-core/package.json" ]; then
  echo "[setup] installing puppeteer-core into $npm_prefix"
  mkdir -p "$npm_prefix"
  npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error puppeteer-core@24 >/dev/null
fi
echo "[setup] dependencies present"
