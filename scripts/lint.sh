#!/usr/bin/env bash
# Lint: every C++ file is in clang-format's style (.clang-format), and the C++ files a change
# touches pass clang-tidy's curated checks (.clang-tidy).
#   scripts/lint.sh [base]   base: the git revision to compare with (default: HEAD~1, the last
#                            commit's parent; without one, e.g. in a shallow clone, every file)
#   LINT_ALL=1               clang-tidy on every file (a few minutes)
# Needs build/compile_commands.json (scripts/build.sh build) and clang-format-14 / clang-tidy-14
# (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in clang-format-14 clang-tidy-14; do
  command -v "$tool" >/dev/null || { echo "lint.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

mapfile -t all < <(git ls-files '*.cpp' '*.hpp' | grep -v '^tests/fuzz/\(corpus\|regressions\)/')
echo "== clang-format: ${#all[@]} files"
clang-format-14 --dry-run --Werror "${all[@]}"

base=${1:-HEAD~1}
if [ "${LINT_ALL:-0}" = 1 ] || ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  mapfile -t changed < <(printf '%s\n' "${all[@]}" | grep '\.cpp$')
else
  mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- '*.cpp' '*.hpp' |
                         grep -v '^tests/fuzz/\(corpus\|regressions\)/' || true)
fi
# clang-tidy checks translation units: a header is checked through the .cpp files that include it
# (HeaderFilterRegex), so a changed header brings in its own .cpp.
units=()
for f in "${changed[@]}"; do
  case "$f" in
    *.cpp) units+=("$f") ;;
    *.hpp) [ -f "${f%.hpp}.cpp" ] && units+=("${f%.hpp}.cpp") ;;
  esac
done
# Only what the regular build compiles (compile_commands.json): fuzz targets and probes are not in it.
[ -f build/compile_commands.json ] || { echo "lint.sh: build/compile_commands.json missing (scripts/build.sh build)" >&2; exit 1; }
mapfile -t units < <(printf '%s\n' "${units[@]}" | sort -u | while read -r f; do
  [ -n "$f" ] && grep -q "\"file\": \".*/$f\"" build/compile_commands.json && echo "$f"; done)
echo "== clang-tidy: ${#units[@]} changed translation unit(s)"
((${#units[@]})) || exit 0
printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy-14 -p build --quiet 2>/dev/null
echo "== lint clean"
