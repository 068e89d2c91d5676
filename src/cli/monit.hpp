// `drove monit`: PM2's terminal dashboard. The process list with CPU and memory and their recent
// history (sparklines), the selected instance's details and live log lines, and keys that act
// on it: r restart, l reload (its app), s stop, S start, + / - scale its app, q quit. It reads
// `list` once a second and the log stream as it comes, over the control socket; actions are
// sent without waiting, so the screen keeps moving during a long reload. Works over ssh (any
// terminal ncurses knows), resizes, and leaves the terminal as it found it on q, Ctrl-C,
// SIGTERM or SIGHUP.
#pragma once

#include "base/home_paths.hpp"

namespace drove::cli {

int cmd_monit(const HomeLayout& home);

}  // namespace drove::cli
