"""/proc helpers and the pid tracker that guarantees the bench leaves nothing behind.

Every process the bench starts, or that a product's daemon starts for it, is recorded with its
start time (field 22 of /proc/<pid>/stat), so a recycled pid is never signalled.
"""
import os
import signal
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_stat(pid):
    """Parsed /proc/<pid>/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    close = data.rfind(")")
    fields = data[close + 2:].split()
    return {
        "comm": data[data.find("(") + 1:close],
        "state": fields[0],
        "ppid": int(fields[1]),
        "utime": int(fields[11]),
        "stime": int(fields[12]),
        "starttime": int(fields[19]),
    }


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (None when gone)."""
    st = read_stat(pid)
    return None if st is None else (st["utime"] + st["stime"]) / CLK_TCK


def _status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib(pid):
    return _status_field(pid, "VmRSS")


def threads(pid):
    return _status_field(pid, "Threads")


def private_dirty_kib(pid):
    """Private dirty pages (heap, stacks, written data): what the process itself allocated. Unlike
    USS or PSS it does not depend on whether another process maps the same node binary."""
    total = None
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    total = (total or 0) + int(line.split()[1])
    except OSError:
        return None
    return total


def alive(pid, starttime=None):
    st = read_stat(pid)
    if st is None or st["state"] in ("Z", "X"):
        return False
    return starttime is None or st["starttime"] == starttime


def descendants(root):
    """Pids of every live descendant of root (not root itself)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = read_stat(int(name))
        if st is not None and st["state"] not in ("Z", "X"):
            children.setdefault(st["ppid"], []).append(int(name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


class Tracker:
    """Every pid the bench is responsible for, grouped by owner ("drove", "pm2", "node", "tool")."""

    def __init__(self):
        self.procs = {}  # pid -> (starttime, owner)
        self.seen = 0

    def add(self, pid, owner):
        if not pid or pid <= 1 or pid == os.getpid():
            return
        st = read_stat(pid)
        if st is not None and pid not in self.procs:
            self.procs[pid] = (st["starttime"], owner)
            self.seen += 1

    def add_tree(self, root, owner):
        """Records root and all its current descendants."""
        if not root:
            return
        self.add(root, owner)
        for pid in descendants(root):
            self.add(pid, owner)

    def live(self, owner=None):
        return [pid for pid, (start, who) in self.procs.items()
                if (owner is None or who == owner) and alive(pid, start)]

    def wait_gone(self, owner=None, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.live(owner):
                return True
            time.sleep(0.05)
        return not self.live(owner)

    def kill_leftovers(self, owner=None, grace=0.0):
        """SIGKILLs every tracked process of owner still alive (after an optional grace period).
        Returns a description of what had to be killed."""
        if grace:
            self.wait_gone(owner, grace)
        killed = []
        for pid in self.live(owner):
            desc = f"{pid} ({cmdline(pid)[:80]})"
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(desc)
            except ProcessLookupError:
                pass
            except PermissionError:
                killed.append(desc + " [permission denied]")
        if killed:
            self.wait_gone(owner, 3.0)
        # Forget the dead, so the table stays small over a long run.
        for pid in [p for p, (s, _) in self.procs.items() if not alive(p, s)]:
            del self.procs[pid]
        return killed
