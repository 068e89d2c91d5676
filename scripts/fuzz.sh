#!/usr/bin/env bash
# Long fuzzing runs: scripts/fuzz.sh [seconds-per-target] [target...]  (default 600 s, all targets).
# Builds the libFuzzer targets with clang++-14 into build-fuzz/, then runs the targets one after
# the other from their seed corpora (tests/fuzz/corpus/<target>/, only read) plus what earlier
# runs found (build-fuzz/tests/fuzz/work/<target>/corpus/). Crashing inputs are kept in
# tests/fuzz/crashes/ (not versioned): turn each into a unit test, move it into
# tests/fuzz/regressions/<target>/ (replayed by every `ctest -L fuzz`), then fix it.
#   FUZZ_JOBS=n   run n fuzzing processes per target (libFuzzer -jobs/-workers); default 1
#   FUZZ_ARGS=... extra libFuzzer flags, e.g. "-max_len=65536"
#   FUZZ_RUNS=n   stop each target after n executions instead of after the seconds
#   FUZZ_SANITIZERS=undefined  build without ASan into build-fuzz-undefined/ (about twice the
#                 executions per second; the corpus is shared with the ASan build's)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
all=(rpc_request ipc_channel ecosystem_json ecosystem_yaml log_line_framer cron timestamp_format units)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 not found (scripts/setup.sh installs it)" >&2; exit 1; }
sanitizers=${FUZZ_SANITIZERS:-address,undefined}
build=build-fuzz
[ "$sanitizers" = address,undefined ] || build=build-fuzz-${sanitizers//,/-}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVE_WERROR=ON -DCMAKE_CXX_COMPILER=clang++-14 \
      -DDROVE_FUZZ=ON -DDROVE_FUZZ_SANITIZERS="$sanitizers" -DDROVE_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzzers -j"${FUZZ_BUILD_JOBS:-$(nproc)}"

mkdir -p tests/fuzz/crashes
jobs=${FUZZ_JOBS:-1}
status=0
for t in "${targets[@]}"; do
  work=build-fuzz/tests/fuzz/work/$t
  mkdir -p "$work/corpus"
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  parallel=()
  ((jobs > 1)) && parallel=(-jobs="$jobs" -workers="$jobs")
  bound=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && bound=(-runs="$FUZZ_RUNS")
  echo "== $t: ${FUZZ_RUNS:-${seconds}s} ${FUZZ_RUNS:+runs} ($build)"
  # shellcheck disable=SC2086
  if ! "$build/tests/fuzz/${t}_fuzz" "${bound[@]}" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$t-" \
         "${dict[@]}" "${parallel[@]}" ${FUZZ_ARGS:-} "$work/corpus" "tests/fuzz/corpus/$t" \
         2>&1 | tee "$work/last-run.log" | grep -E "^stat::number_of_executed_units|ERROR|SUMMARY|Test unit written"; then
    :
  fi
  grep -q "Test unit written\|^==[0-9]*==ERROR" "$work/last-run.log" && status=1
done
[ "$status" = 0 ] && echo "== no crash" || echo "== crashes kept in tests/fuzz/crashes/"
exit "$status"
