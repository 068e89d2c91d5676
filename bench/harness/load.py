"""HTTP load with wrk, and small HTTP/port helpers. Traffic goes to 127.0.0.1 only."""
import http.client
import re
import signal
import socket
import subprocess
import tempfile
import time

from .products import CmdError


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(port, timeout=1.0):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/", headers={"Connection": "close"})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def parse_wrk(text):
    """The numbers of wrk's summary (requests, seconds, rps, non-2xx, socket errors)."""
    r = {"requests": None, "seconds": None, "rps": None, "non2xx": 0,
         "connect": 0, "read": 0, "write": 0, "timeout": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        r["requests"] = int(m.group(1))
        r["seconds"] = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["connect"], r["read"], r["write"], r["timeout"] = map(int, m.groups())
    r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    m = re.search(r"Latency\s+([\d.]+\w+)", text)
    r["latency_avg"] = m.group(1) if m else None
    # --latency: the distribution's percentiles, in ms.
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        r[f"p{pct}_ms"] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else None
    if r["requests"] is None:
        raise CmdError(f"could not parse wrk output: {text.strip()[:200]!r}")
    return r


class Wrk:
    """One wrk run, in the background; stop() (SIGINT, wrk then prints its summary) or wait()."""

    def __init__(self, port, threads, connections, duration, close, tracker, latency=False):
        self.out = tempfile.TemporaryFile()
        self.duration = duration
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "2s"]
        if latency:
            argv.append("--latency")
        if close:
            argv += ["-H", "Connection: close"]
        argv.append(f"http://127.0.0.1:{port}/")
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                  stderr=subprocess.STDOUT)
        tracker.add(self.p.pid, "tool")

    def _result(self):
        self.out.seek(0)
        text = self.out.read().decode("utf-8", "replace")
        self.out.close()
        r = parse_wrk(text)
        r["raw"] = text
        return r

    def wait(self):
        try:
            self.p.wait(timeout=self.duration + 20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise CmdError("wrk did not finish in time")
        return self._result()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise CmdError("wrk ignored SIGINT")
        return self._result()

    def abort(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        try:
            self.out.close()
        except OSError:
            pass


def run_wrk(port, threads, connections, duration, close, tracker, latency=False):
    return Wrk(port, threads, connections, duration, close, tracker, latency).wait()
