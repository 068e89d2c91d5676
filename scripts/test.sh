#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with warnings as errors, runs every
# test (ctest), then does it again under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== build (warnings are errors) and test"
scripts/build.sh build
# Format of every C++ file, clang-tidy's curated checks on the files the last commit changed.
scripts/lint.sh
# Tests that measure behaviour under load (reloads under traffic, the bind race, floods, big
# scales) run alone after the others: two of them side by side on a 2-core machine starve each
# other's apps past their listen_timeout.
serial='UnderLoad|ChmodRace|ListenFlood|ScaleBeyondTheCap|Chaos'
(cd build && ctest --output-on-failure -j2 --timeout 300 -E "$serial" && ctest --output-on-failure --timeout 300 -R "$serial")

# Fuzzing: each libFuzzer target runs DROVE_FUZZ_SECONDS (30) from its seed corpus. clang++-14 is
# installed by setup.sh; without it (a hand-made environment) the step says so and is skipped.
if command -v clang++-14 >/dev/null 2>&1; then
  echo "== fuzz targets (clang++-14, libFuzzer + ASan + UBSan), bounded runs"
  cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVE_WERROR=ON -DCMAKE_CXX_COMPILER=clang++-14 \
        -DDROVE_FUZZ=ON -DDROVE_TESTS=OFF >/dev/null
  cmake --build build-fuzz --target fuzzers -j"$(nproc)"
  (cd build-fuzz && ctest -L fuzz --output-on-failure --timeout 300)
else
  echo "== fuzz targets skipped: clang++-14 not installed"
fi

if [ "${DROVE_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build and test with AddressSanitizer + UBSan"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DDROVE_SANITIZE=ON
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest --output-on-failure -j2 --timeout 600 -E "$serial" &&
     ctest --output-on-failure --timeout 600 -R "$serial")
fi
echo "== all tests passed"
