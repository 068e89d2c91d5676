#!/usr/bin/env bash
# Configures and builds drove into build/ (or the directory given as $1, with extra CMake args).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVE_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
