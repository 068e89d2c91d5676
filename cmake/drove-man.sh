#!/usr/bin/env bash
# drove.1, written at build time from the built binary's own help (`drove --help`, then
# `drove <command> --help` for each command it lists): the manual cannot describe another CLI than
# the one it is installed with. Our own few lines rather than help2man, which reads only the
# top-level --help and would leave the commands out.
#   drove-man.sh <drove binary> <version> <output file>
set -euo pipefail
drove=$1
version=$2
out=$3

# Help text as roff: backslashes and hyphens printed as typed (man warns on bare '-' in names),
# and no line taken for a request ('.' or "'" first).
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e 's/^\([.'\'']\)/\\\&\1/'; }

help=$("$drove" --help)
summary=$(head -n1 <<<"$help" | sed 's/^drove: //')
# "  name, alias  description" lines under "Subcommands:"; wrapped descriptions are indented more.
mapfile -t commands < <(awk '/^Subcommands:/ {on = 1; next}
                             on && /^  [^ ]/ {sub(/^  /, ""); split($0, w, /[ ,]/); print w[1]}' <<<"$help")
((${#commands[@]})) || { echo "drove-man.sh: no commands in '$drove --help'" >&2; exit 1; }

{
  printf '.TH DROVE 1 "" "drove %s" "User Commands"\n' "$version"
  printf '.SH NAME\ndrove \\- %s\n' "$(roff <<<"$summary")"
  cat <<'ROFF'
.SH SYNOPSIS
.B drove
.I command
[\fIoptions\fR] [\fItargets\fR...] [\fB\-\-\fR \fIapp arguments\fR...]
.SH DESCRIPTION
drove starts, watches and restarts apps (Node.js, Python, any program), with PM2's commands,
ecosystem files and outputs. Each command talks to the user's daemon over a Unix socket and
starts that daemon when none runs.
Targets are app names, ids, namespaces, \fBall\fR or ecosystem files; the words after \fB\-\-\fR
are passed to the app.
.SH OPTIONS
.TP
.B \-h, \-\-help
print the help, of drove or of a command, and exit
.TP
.B \-v, \-\-version
print drove's version and exit
.SH COMMANDS
ROFF
  for command in "${commands[@]}"; do
    printf '.SS %s\n' "$(roff <<<"$command")"
    sub_help=$("$drove" "$command" --help)
    roff <<<"$(head -n1 <<<"$sub_help")"
    printf '.PP\n.nf\n'
    tail -n +2 <<<"$sub_help" | sed '/./,$!d' | roff
    printf '.fi\n'
  done
  cat <<'ROFF'
.SH ENVIRONMENT
.TP
.B DROVE_HOME
the daemon's directory (default \fI~/.drove\fR); one daemon per directory
.TP
.B DROVE_MASK_SECRETS, DROVE_SECRET_PATTERNS
hide secret\-looking variables in \fBjlist\fR, \fBprettylist\fR and \fBdescribe\fR
.SH FILES
.TP
.I $DROVE_HOME/drove.sock
the daemon's control socket
.TP
.I $DROVE_HOME/drove.pid, drove.log
the daemon's pid (locked while it runs) and its own log
.TP
.I $DROVE_HOME/dump.pm2
the list saved by \fBdrove save\fR, started by \fBdrove resurrect\fR
.TP
.I $DROVE_HOME/logs/, pids/
the apps' log and pid files
.TP
.I <prefix>/lib/systemd/system/drove@.service
the daemon of one user at boot: \fBsystemctl enable \-\-now drove@\fIuser\fB.service\fR
.SH SEE ALSO
.BR systemctl (1),
.BR systemd.service (5)
ROFF
} >"$out.tmp"
mv "$out.tmp" "$out"
