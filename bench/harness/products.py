"""The products under test, each driven only through its own CLI, each with its own home."""
import json
import os
import shlex
import subprocess
import tempfile
import time

from . import procs


class CmdError(Exception):
    pass


class Timeout(Exception):
    pass


def wait_until(what, predicate, timeout, interval=0.05):
    """Polls predicate() until it returns something truthy; raises Timeout naming what."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def run_cmd(argv, env, timeout, check=True, label=None):
    """Runs a command with stdout/stderr in temporary files (a daemon the command spawns may keep
    inherited descriptors open; files never block us). Returns (rc, stdout, stderr, seconds)."""
    label = label or " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv[:3]))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise CmdError(f"'{label}' timed out after {timeout:g}s")
        except BaseException:
            p.kill()
            p.wait()
            raise
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if check and rc != 0:
        lines = [l for l in (stderr.strip() + "\n" + stdout.strip()).splitlines() if l.strip()]
        reason = strip_ansi(lines[0] if lines else f"exit code {rc}")
        raise CmdError(f"'{label}' failed: {reason[:200]}")
    return rc, stdout, stderr, seconds


def strip_ansi(s):
    import re
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", s)


def parse_json_list(text):
    """The first JSON array in text (PM2 may print warnings before it)."""
    dec = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch == "[" and (i == 0 or text[i - 1] == "\n"):
            try:
                value, _ = dec.raw_decode(text[i:])
                if isinstance(value, list):
                    return value
            except ValueError:
                continue
    raise CmdError(f"jlist printed no JSON array: {text[:200]!r}")


class Product:
    """Common CLI driving. Subclasses set key, label, home_var, pid_file and argv()."""

    key = label = home_var = pid_file = None

    def __init__(self, binary, home, tracker, base_env):
        self.bin = binary
        self.home = home
        self.tracker = tracker
        self.base_env = base_env
        os.makedirs(home, mode=0o700, exist_ok=True)

    # -- plumbing
    def env(self, extra=None):
        e = dict(self.base_env)
        e[self.home_var] = self.home
        if extra:
            e.update({k: str(v) for k, v in extra.items()})
        return e

    def argv(self, *args):
        return [self.bin, *args]

    def cli(self, *args, env=None, timeout=60, check=True):
        rc, out, err, secs = run_cmd(self.argv(*args), self.env(env), timeout, check,
                                     label=f"{self.key} {' '.join(args)[:60]}")
        self._track_daemon()
        return out

    def _track_daemon(self):
        pid = self.daemon_pid()
        if pid:
            self.tracker.add(pid, self.key)

    # -- the interface the scenarios use
    def daemon_pid(self):
        try:
            with open(os.path.join(self.home, self.pid_file)) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return None
        return pid if pid > 0 and procs.alive(pid) else None

    def ping(self):
        self.cli("ping")
        return wait_until(f"{self.key} daemon pid file", self.daemon_pid, 15)

    def start(self, script, name=None, instances=None, env=None, extra=(), timeout=60):
        args = ["start", script]
        if name:
            args += ["--name", name]
        if instances:
            args += ["-i", str(instances)]
        args += list(extra)
        self.cli(*args, env=env, timeout=timeout)

    def start_many(self, scripts, method, eco_path=None, env=None, timeout=300):
        """Starts many apps with one CLI call: an ecosystem JSON or several scripts."""
        if method == "ecosystem":
            self.cli("start", eco_path, env=env, timeout=timeout)
        else:
            self.cli("start", *scripts, env=env, timeout=timeout)

    def list(self):
        return self.cli("list")

    def list_argv(self):
        return self.argv("list")

    def jlist(self, timeout=60):
        apps = parse_json_list(self.cli("jlist", timeout=timeout))
        for a in apps:
            if a.get("pid"):
                self.tracker.add(int(a["pid"]), self.key)
        return apps

    def delete_all(self, timeout=120):
        self.cli("delete", "all", timeout=timeout)

    def restart(self, name, timeout=60):
        self.cli("restart", name, timeout=timeout)

    def reload(self, name, timeout=60):
        self.cli("reload", name, timeout=timeout)

    def kill(self, timeout=60):
        """Stops every app and the daemon through the CLI, then verifies by pid and SIGKILLs
        whatever this product left behind. Returns the list of leftovers that had to be killed."""
        pid = self.daemon_pid()
        if pid:
            self.tracker.add_tree(pid, self.key)
            try:
                run_cmd(self.argv("kill"), self.env(), timeout, check=False, label=f"{self.key} kill")
            except CmdError:
                pass
            self.tracker.wait_gone(self.key, 10.0)
        return self.tracker.kill_leftovers(self.key)

    def supports_lb(self):
        return []

    def version(self):
        return "?"


class Drove(Product):
    key, label, home_var, pid_file = "drove", "drove", "DROVE_HOME", "drove.pid"
    LB_POLICIES = ["round-robin", "shared", "reuseport", "least-connections"]

    def version(self):
        try:
            _, out, _, _ = run_cmd(self.argv("--version"), self.env(), 10, check=False)
            return out.strip().splitlines()[0] if out.strip() else "?"
        except CmdError:
            return "?"

    def supports_lb(self):
        """Load-balancing policies drove's 'start' accepts (empty: no --lb flag yet)."""
        try:
            _, out, err, _ = run_cmd(self.argv("start", "--help"), self.env(), 10, check=False)
        except CmdError:
            return []
        text = out + err
        import re
        if not re.search(r"--lb(?![-\w])", text):
            return []
        named = [p for p in self.LB_POLICIES if p in text]
        return named or list(self.LB_POLICIES)


    def longest_loop_turn(self, since, until):
        """The daemon's longest loop turn (ms, wall time) between two time.time() values, from the
        per-second history `ping` keeps (LoopMeter): how long anything on the loop could wait for
        it. 1.0 when no turn of the window was over 1 ms (the history keeps only those)."""
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(os.path.join(self.home, "drove.sock"))
            s.sendall(b'{"id":1,"method":"ping","params":{"loop_history":true}}\n')
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        seconds = json.loads(buf)["result"]["loop"].get("seconds", [])
        inside = [row[1] for row in seconds if int(since) <= row[0] <= int(until)]
        return max(inside, default=1.0)


class PM2(Product):
    key, label, home_var, pid_file = "pm2", "PM2", "PM2_HOME", "pm2.pid"

    def argv(self, *args):
        # Run PM2's CLI with the same node as the apps, without relying on the shebang.
        return ["node", self.bin, *args]

    def version(self):
        # Never run 'pm2 --version': it spawns a daemon. Read the installed package instead.
        pkg = os.path.join(os.path.dirname(os.path.realpath(self.bin)), "..", "package.json")
        try:
            with open(pkg) as f:
                return json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            return "?"

    def kill(self, timeout=60):
        pid = self.daemon_pid()
        if not pid:
            # 'pm2 kill' without a daemon would start one first.
            return self.tracker.kill_leftovers(self.key)
        return super().kill(timeout)


def hyperfine_available():
    from shutil import which
    return which("hyperfine") is not None


def time_command(argv, env, runs, warmup, tmpdir):
    """Wall time of a command, in ms per run: hyperfine when present, else a Python loop."""
    if hyperfine_available():
        export = os.path.join(tmpdir, "hyperfine.json")
        cmd = " ".join(shlex.quote(a) for a in argv)
        run_cmd(["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", str(warmup),
                 "--export-json", export, cmd], env, timeout=30 + runs * 20, label="hyperfine")
        with open(export) as f:
            return [t * 1000.0 for t in json.load(f)["results"][0]["times"]]
    for _ in range(warmup):
        run_cmd(argv, env, 20)
    times = []
    for _ in range(runs):
        _, _, _, secs = run_cmd(argv, env, 20)
        times.append(secs * 1000.0)
    return times
