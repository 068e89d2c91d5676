#!/usr/bin/env bash
# tests/install: what `cmake --install` adds around the program for a system install: a bash
# completion that loads and completes (commands, flags, files, and app names from a running
# daemon, never starting one), a zsh completion zsh accepts, a manual that renders and names
# every command, and a systemd unit template that systemd accepts and that says what
# `drove startup` says; the installed binary runs the node_metrics preload it installed.
#   system_files.sh <build-dir> <scratch-dir>
set -euo pipefail
build=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix
drove=$prefix/bin/drove
export DROVE_HOME=$scratch/home  # a daemon of this test's own, never the user's
cleanup() {
  if [ -S "$DROVE_HOME/drove.sock" ]; then "$drove" kill >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cmake --install "$build" --prefix "$prefix" >/dev/null
bash_completion=$prefix/share/bash-completion/completions/drove
zsh_completion=$prefix/share/zsh/vendor-completions/_drove
man_page=$prefix/share/man/man1/drove.1
unit=$prefix/lib/systemd/system/drove@.service
for f in "$bash_completion" "$zsh_completion" "$man_page" "$unit"; do
  test -s "$f" || fail "not installed: $f"
done
cmp -s <("$drove" completion bash) "$bash_completion" || fail "the bash completion is not drove's own"
cmp -s <("$drove" completion zsh) "$zsh_completion" || fail "the zsh completion is not drove's own"
mapfile -t commands < <("$drove" --help | awk '/^Subcommands:/ {on = 1; next}
                                              on && /^  [^ ]/ {sub(/^  /, ""); split($0, w, /[ ,]/); print w[1]}')
((${#commands[@]} > 20)) || fail "drove --help lists ${#commands[@]} commands"

echo "== bash completion"
bash -c 'source "$1" && complete -p drove' _ "$bash_completion" | grep -q -- '-F _drove drove' ||
  fail "complete -p drove: no completion for drove after sourcing $bash_completion"
# What Tab offers for the last word of a command line.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _drove; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$bash_completion" "$drove" "$@" | sort
}
expect_words() {  # expect_words "<expected, one a line>" <words>...
  local want=$1 got
  shift
  got=$(complete_words "$@")
  [ "$got" = "$(sort <<<"$want")" ] || fail "drove $* <Tab>: got [$(echo $got)], want [$(echo $want)]"
}
expect_words $'start\nstartOrRestart\nstartOrReload\nstartup\nstatus' sta  # status: list's alias
expect_words $'--name\n--namespace' start --na
expect_words $'--lines' logs --li
expect_words $'bash\nzsh' completion ''
# No daemon: "all" only, and none was started to ask.
expect_words 'all' stop ''
test ! -e "$DROVE_HOME/drove.sock" || fail "completing started a daemon"
# Files for start (and after the app's "--").
mkdir -p "$scratch/apps" && touch "$scratch/apps/server.js" "$scratch/apps/worker.py"
(cd "$scratch/apps" && expect_words 'server.js' start se)
(cd "$scratch/apps" && expect_words 'worker.py' start app.js -- wo)
# A running daemon's apps: names, ids, namespaces.
"$drove" start /bin/sleep --name napper -- 600 >/dev/null
expect_words 'napper' stop na
expect_words $'0\nall\ndefault\nnapper' restart ''
expect_words 'napper' logs nap

echo "== zsh completion"
if command -v zsh >/dev/null; then
  zsh -n "$zsh_completion" || fail "zsh -n $zsh_completion"
  # Found on $fpath, compinit binds it to drove.
  got=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2/zcompdump"; print -r -- $_comps[drove]' \
        _ "$(dirname "$zsh_completion")" "$scratch")
  [ "$got" = _drove ] || fail "zsh compinit: drove completes with '$got', not _drove"
else
  echo "SKIP zsh: not installed (Debian package zsh; scripts/setup.sh installs it)"
fi

echo "== drove.1"
head -n1 "$man_page" | grep -q '^\.TH DROVE 1 ' || fail "drove.1 has no .TH header"
for c in "${commands[@]}"; do
  grep -qx "\.SS $(sed 's/-/\\\\-/g' <<<"$c")" "$man_page" || fail "drove.1 has no section for '$c'"
done
if command -v man >/dev/null && command -v groff >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings -l "$man_page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man --warnings -l drove.1: $warnings"
  MANWIDTH=80 man -l "$man_page" 2>/dev/null | grep -q 'startOrReload' || fail "man -l drove.1 renders no startOrReload"
else
  echo "SKIP rendering drove.1: man or groff not installed"
fi

echo "== drove@.service"
grep -qx "ExecStart=$drove daemon --resurrect" "$unit" || fail "the unit does not run $drove: $(grep ExecStart "$unit")"
# The template says what `drove startup` writes, but for the user (%i) and the environment
# systemd gives it.
settings() { grep -E '^[A-Za-z]+=' | grep -vE '^(Description|User|Environment)='; }
diff <("$drove" startup systemd --dry-run -u root --hp /root | settings) <(settings <"$unit") ||
  fail "drove@.service and the unit of 'drove startup' differ (above)"
if [ -x /usr/bin/systemd-analyze ]; then
  mkdir -p "$scratch/units"
  cp "$unit" "$scratch/units/drove@root.service"
  out=$(/usr/bin/systemd-analyze verify "$scratch/units/drove@root.service" 2>&1) ||
    fail "systemd-analyze verify drove@root.service: $out"
  if grep -q 'drove@' <<<"$out"; then fail "systemd-analyze verify complains: $out"; fi
else
  echo "SKIP systemd-analyze verify: not installed (Debian package systemd)"
fi
echo "== node_metrics preload"
# The installed binary finds the preload it installed (<prefix>/share/drove), and it runs.
if command -v node >/dev/null; then
  preload=$prefix/share/drove/node-metrics.js
  test -s "$preload" || fail "not installed: $preload"
  echo 'setInterval(() => {}, 1000);' >"$scratch/idle.js"
  "$drove" start "$scratch/idle.js" --name idle --node-metrics >/dev/null || fail "drove start --node-metrics"
  pid=0
  for _ in $(seq 150); do
    pid=$("$drove" pid idle 2>/dev/null | head -1)
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] && break
    sleep 0.1
  done
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "idle did not start"
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--require $preload" ||
    fail "idle runs without the installed preload: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
  reported=""
  for _ in $(seq 100); do  # the preload reports once a second
    if "$drove" describe idle | grep -q 'Heap Size'; then reported=yes; break; fi
    sleep 0.1
  done
  [ -n "$reported" ] || fail "describe shows no Heap Size from the preload: $("$drove" describe idle)"
  "$drove" delete idle >/dev/null
else
  echo "SKIP the node_metrics preload: node not installed"
fi
echo "== ok"
