#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with warnings as errors, runs every
# test (ctest), then does it again under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== build (warnings are errors) and test"
scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 300)

if [ "${DROVE_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build and test with AddressSanitizer + UBSan"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DDROVE_SANITIZE=ON
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j2 --timeout 600)
fi
echo "== all tests passed"
