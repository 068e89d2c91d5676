#!/usr/bin/env bash
# tests/install: `cmake --install` of a build, then a separate project finds the library with
# find_package(drove) and, again, with pkg-config; both programs run.
#   check.sh <build-dir> <scratch-dir>
set -euo pipefail
build=$1
scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/drove"
"$prefix/bin/drove" --version

expect() {
  local out
  out=$("$1")
  echo "$out"
  grep -q "child_process ok" <<<"$out"
  test "$(grep -c "hello from worker" <<<"$out")" = 2
  grep -q "cluster ok: 2 workers exited cleanly" <<<"$out"
}

echo "== find_package(drove)"
cmake -S "$here/consumer" -B "$scratch/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$scratch/cmake-build" >/dev/null
expect "$scratch/cmake-build/consumer"

echo "== pkg-config drove"
pc=$(find "$prefix" -name drove.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
libdir=$(pkg-config --variable=libdir drove)
test -f "$libdir/libdrove.a"
# shellcheck disable=SC2046
g++ -o "$scratch/pc-consumer" "$here/consumer/consumer.cpp" $(pkg-config --cflags --libs drove)
expect "$scratch/pc-consumer"
rm -rf "$scratch"
