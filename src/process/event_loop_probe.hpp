// Whether a process's main thread is waiting in its event loop (blocked in epoll_wait), read
// from /proc/<pid>/syscall, or /proc/<pid>/wchan where that file is not readable. The cluster
// supervisor uses it as the sign that a Node worker's main script has run: Node runs the main
// module synchronously before its first turn of the libuv loop, and a worker that listens has
// sent its queryServer by then (docs/cluster.md, "When an instance is online").
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

namespace drove::process {

enum class MainThreadWait {
  event_loop,  // blocked in epoll_wait / epoll_pwait / epoll_pwait2
  other,       // running, or blocked in anything else
  unknown,     // neither file can be read (gone, no permission, no such kernel support)
};

MainThreadWait main_thread_wait(pid_t pid);

// Parsers of the two files' text (exposed for tests).
MainThreadWait parse_proc_syscall(std::string_view text);
MainThreadWait parse_proc_wchan(std::string_view text);

}  // namespace drove::process
