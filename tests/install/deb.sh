#!/usr/bin/env bash
# tests/install: `cpack -G DEB` of a build makes drove's .deb: its control fields, every file a
# system install puts in /usr, a program that runs, and a unit template naming /usr/bin/drove.
#   deb.sh <build-dir> <scratch-dir>
set -euo pipefail
build=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch" >"$scratch/cpack.log" 2>&1 ||
  fail "cpack -G DEB: $(cat "$scratch/cpack.log")"
debs=("$scratch"/drove_*.deb)
[ -f "${debs[0]}" ] || fail "no drove_*.deb in $scratch: $(ls "$scratch")"
deb=${debs[0]}
echo "== $(basename "$deb")"

dpkg-deb -f "$deb" Package Section Maintainer Depends Description | sed -n 1,5p
[ "$(dpkg-deb -f "$deb" Package)" = drove ] || fail "Package: $(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Section)" = admin ] || fail "Section: $(dpkg-deb -f "$deb" Section)"
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] || fail "no Maintainer"
dpkg-deb -f "$deb" Depends | grep -q 'libc6' || fail "Depends (from dpkg-shlibdeps) names no libc6"

contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for path in ./usr/bin/drove \
            ./usr/share/man/man1/drove.1 \
            ./usr/share/bash-completion/completions/drove \
            ./usr/share/zsh/vendor-completions/_drove \
            ./usr/lib/systemd/system/drove@.service \
            ./usr/include/drove/process.hpp \
            ./usr/LIB/libdrove.a \
            ./usr/LIB/cmake/drove/droveConfig.cmake \
            ./usr/LIB/pkgconfig/drove.pc; do
  # LIB: the build's library directory (GNUInstallDirs: lib, or lib/<multiarch> for /usr builds).
  pattern=$(sed 's|\.|\\.|g; s|/LIB/|/lib/\\([^/]*/\\)\\?|' <<<"$path")
  grep -qx "$pattern" <<<"$contents" || fail "the .deb has no $path"
done

dpkg-deb -x "$deb" "$scratch/root"
"$scratch/root/usr/bin/drove" --version | grep -q . || fail "the packaged drove does not run"
grep -qx 'ExecStart=/usr/bin/drove daemon --resurrect' "$scratch/root/usr/lib/systemd/system/drove@.service" ||
  fail "the packaged unit does not run /usr/bin/drove"
echo "== ok"
