#!/usr/bin/env python3
"""deploy/check.sh's parsing half: the Dockerfile, the Kubernetes manifests, the Nomad job.

  validate.py manifests <repo>          check the manifests against the Dockerfile and the example
  validate.py plan <repo> <map>...      the Dockerfile as shell variables for check.sh to replay;
                                        each <map> is /path/in/image=/path/on/host

No Kubernetes or Nomad validator is needed: the YAML is parsed with PyYAML and the fields that
matter are checked; the HCL is parsed by the small HCL2 subset parser below (blocks, attributes,
strings, numbers, booleans, lists, comments), enough for a job file and strict about the rest.
"""
import json
import math
import os
import re
import shlex
import sys

errors = []


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        errors.append(what)
    return cond


# ---- durations --------------------------------------------------------------------------------
UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}


def duration_ms(value, bare_unit="ms"):
    """drove's durations (a number is milliseconds; "500ms", "10s", "2m", "1h") and Go's ("1m30s")."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        return float(value) * UNITS[bare_unit]
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text) * UNITS[bare_unit]
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(n) * UNITS[u] for n, u in parts)


# ---- Dockerfile ---------------------------------------------------------------------------------
def dockerfile_instructions(path):
    """[(stage_index, stage_name, KEYWORD, argument text)], continuations joined, comments dropped."""
    lines = open(path, encoding="utf-8").read().splitlines()
    out, stage, name, buf = [], -1, None, ""
    for raw in lines + [""]:
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        text = (buf + line).strip()
        buf = ""
        if not text:
            continue
        keyword, _, rest = text.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            stage += 1
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            name = m.group(2) if m and m.group(2) else str(stage)
        out.append((stage, name, keyword, rest))
    return out


def exec_form(rest, what):
    try:
        value = json.loads(rest)
    except json.JSONDecodeError:
        value = None
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise SystemExit(f"Dockerfile: {what} must be in exec form (a JSON array of strings), got: {rest}")
    return value


def apt_packages(command):
    """The packages of `apt-get install` in a RUN line; None when the line runs no apt-get install."""
    words = shlex.split(command)
    for i, w in enumerate(words):
        if w == "install" and i > 0 and any(x.endswith("apt-get") or x == "apt" for x in words[:i]):
            pkgs = []
            for x in words[i + 1:]:
                if x in ("&&", ";", "||", "|"):
                    break
                if not x.startswith("-"):
                    pkgs.append(x)
            return pkgs
    return None


def docker_model(repo):
    ins = dockerfile_instructions(os.path.join(repo, "Dockerfile"))
    stages = sorted({(s, n) for s, n, _, _ in ins})
    if len(stages) < 2:
        raise SystemExit("Dockerfile: expected a multi-stage build (a build stage and a runtime stage)")
    last = stages[-1][0]
    m = {"stages": stages, "build": [], "runtime": [], "bases": [], "env": {}}
    for s, n, k, rest in ins:
        if k == "FROM":
            m["bases"].append(rest.split()[0])
        (m["runtime"] if s == last else m["build"]).append((k, rest))
        if s != last:
            continue
        if k == "ENTRYPOINT":
            m["entrypoint"] = exec_form(rest, "ENTRYPOINT")
        elif k == "CMD":
            m["cmd"] = exec_form(rest, "CMD")
        elif k == "HEALTHCHECK":
            hm = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
            m["healthcheck"] = exec_form(hm.group(1) if hm else rest, "HEALTHCHECK CMD")
        elif k == "STOPSIGNAL":
            m["stopsignal"] = rest
        elif k == "USER":
            m["user"] = rest
        elif k == "EXPOSE":
            m["expose"] = [int(p.split("/")[0]) for p in rest.split()]
        elif k == "WORKDIR":
            m["workdir"] = rest
        elif k == "ENV":
            for part in shlex.split(rest):
                key, _, val = part.partition("=")
                m["env"][key] = val
        elif k == "RUN":
            um = re.search(r"useradd\b.*--uid[ =](\d+)", rest)
            if um:
                m["uid"] = int(um.group(1))
    return m


# ---- the example --------------------------------------------------------------------------------
def example_model(repo, docker):
    """The ecosystem file the image runs: CMD[0], found through `COPY <dir> <WORKDIR>`."""
    workdir = docker.get("workdir", "/")
    context_dir = None
    for k, rest in docker["runtime"]:
        if k == "COPY" and not rest.startswith("--from"):
            src, dst = shlex.split(rest)[-2:]
            if dst.rstrip("/") == workdir.rstrip("/"):
                context_dir = os.path.join(repo, src)
    if context_dir is None:
        raise SystemExit(f"Dockerfile: no COPY of the example into WORKDIR {workdir}")
    path = os.path.join(context_dir, docker["cmd"][0])
    apps = json.load(open(path, encoding="utf-8"))
    apps = apps.get("apps", apps) if isinstance(apps, dict) else apps
    if isinstance(apps, dict):
        apps = [apps]
    kill = max(duration_ms(a.get("kill_timeout", a.get("killTimeout", 1600))) for a in apps)
    ports = set()
    for a in apps:
        p = a.get("port", (a.get("env") or {}).get("PORT"))
        if p is not None:
            ports.add(int(p))
    envs = set()
    for a in apps:
        envs |= {k[4:] for k in a if k.startswith("env_")}
    instances = [a.get("instances", 1) for a in apps]
    return {"path": path, "apps": apps, "kill_ms": kill, "ports": ports, "envs": envs, "instances": instances}


# ---- a small HCL2 parser --------------------------------------------------------------------------
TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?) | (?P<ident>[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<punct>[{}\[\]=,])
""", re.S | re.X)


def hcl_tokens(text):
    pos, line = 0, 1
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise SyntaxError(f"line {line}: unexpected {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            yield kind, m.group(), line
        line += m.group().count("\n")
        pos = m.end()


class Hcl:
    """body: {"attrs": {name: value}, "blocks": [(type, [labels], body)]}"""

    def __init__(self, text):
        self.toks = list(hcl_tokens(text))
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None, None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if tok[0] is None:
            raise SyntaxError(f"end of file: expected {value or kind} (an unclosed block?)")
        if (kind and tok[0] != kind) or (value and tok[1] != value):
            raise SyntaxError(f"line {tok[2]}: expected {value or kind}, got {tok[1]!r}")
        self.i += 1
        return tok

    def body(self, closing):
        attrs, blocks = {}, []
        while self.peek()[1] != closing:
            kind, name, line = self.take("ident")
            if self.peek()[1] == "=":
                self.take(value="=")
                if name in attrs:
                    raise SyntaxError(f"line {line}: attribute {name} set twice")
                attrs[name] = self.value()
            else:
                labels = []
                while self.peek()[0] in ("string", "ident"):
                    labels.append(json.loads(self.take()[1]) if self.peek()[0] == "string" else self.take()[1])
                self.take(value="{")
                blocks.append((name, labels, self.body("}")))
                self.take(value="}")
        return {"attrs": attrs, "blocks": blocks}

    def value(self):
        kind, text, line = self.take()
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "ident" and text in ("true", "false"):
            return text == "true"
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
                if self.peek()[1] == ",":
                    self.take(value=",")
            self.take(value="]")
            return items
        if text == "{":
            return self.body("}")
        raise SyntaxError(f"line {line}: unsupported value {text!r}")

    def parse(self):
        body = self.body(None)
        return body


def blocks(body, kind):
    return [b for b in body["blocks"] if b[0] == kind]


# ---- checks -------------------------------------------------------------------------------------
def check_kubernetes(repo, docker, example):
    import yaml  # python3-yaml (scripts/setup.sh)
    kdir = os.path.join(repo, "deploy", "kubernetes")
    docs = []
    for f in sorted(os.listdir(kdir)):
        if f.endswith((".yaml", ".yml")):
            for d in yaml.safe_load_all(open(os.path.join(kdir, f), encoding="utf-8")):
                if d is not None:
                    docs.append((f, d))
    print("== Kubernetes manifests (deploy/kubernetes, parsed with PyYAML)")
    for f, d in docs:
        check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind"), f"{f}: apiVersion and kind set")
    by_kind = {}
    for f, d in docs:
        by_kind.setdefault(d.get("kind"), []).append((f, d))
    for f, d in by_kind.get("Kustomization", []):
        for r in d.get("resources", []):
            check(os.path.exists(os.path.join(kdir, r)), f"{f}: resource {r} exists")
    deps = by_kind.get("Deployment", [])
    if not check(len(deps) == 1, "one Deployment"):
        return None
    f, dep = deps[0]
    check(dep["apiVersion"] == "apps/v1", f"{f}: apiVersion apps/v1")
    check(bool(dep.get("metadata", {}).get("name")), f"{f}: metadata.name")
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    selector = spec["selector"]["matchLabels"]
    check(all(labels.get(k) == v for k, v in selector.items()), f"{f}: selector.matchLabels match the pod's labels")
    containers = pod["containers"]
    c = next((c for c in containers if "drove-runtime" in (c.get("command") or [])[:1]), None)
    if not check(c is not None, f"{f}: a container whose command is drove-runtime (the image's ENTRYPOINT)"):
        return None
    check(c["command"] == docker["entrypoint"], f"{f}: command {c['command']} == Dockerfile ENTRYPOINT {docker['entrypoint']}")
    args = c.get("args") or []
    check(args[:1] == docker["cmd"][:1], f"{f}: args start with the Dockerfile's CMD {docker['cmd']}")
    if "--env" in args:
        env = args[args.index("--env") + 1]
        check(env in example["envs"], f"{f}: --env {env}: the ecosystem file has env_{env}")
    ports = {p["containerPort"]: p.get("name") for p in c.get("ports", [])}
    check(example["ports"] and example["ports"] <= set(ports),
          f"{f}: containerPort {sorted(ports)} includes the example's port {sorted(example['ports'])}")
    check(set(docker.get("expose", [])) == example["ports"],
          f"Dockerfile: EXPOSE {docker.get('expose')} == the example's port {sorted(example['ports'])}")

    def port_number(p):
        if isinstance(p, int):
            return p
        return next((n for n, name in ports.items() if name == p), None)

    live = c.get("livenessProbe")
    if check(live is not None, f"{f}: livenessProbe"):
        cmd = (live.get("exec") or {}).get("command")
        check(cmd == docker["healthcheck"], f"{f}: livenessProbe exec {cmd} == Dockerfile HEALTHCHECK {docker['healthcheck']}")
    ready = c.get("readinessProbe")
    if check(ready is not None, f"{f}: readinessProbe"):
        if "httpGet" in ready:
            check(port_number(ready["httpGet"]["port"]) in example["ports"],
                  f"{f}: readinessProbe httpGet port {ready['httpGet']['port']} is the example's port")
        else:
            check("exec" in ready or "tcpSocket" in ready, f"{f}: readinessProbe is httpGet, tcpSocket or exec")
    pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command") or []
    pre_s = float(pre[1]) if len(pre) == 2 and pre[0] == "sleep" else 0.0
    kill_s = example["kill_ms"] / 1000
    grace = pod.get("terminationGracePeriodSeconds", 30)
    margin = 2
    check(grace >= pre_s + kill_s + margin,
          f"{f}: terminationGracePeriodSeconds {grace} >= preStop sleep {pre_s:g} + max(kill_timeout) {kill_s:g} + margin {margin}")
    sc = pod.get("securityContext") or {}
    check(sc.get("runAsNonRoot") is True, f"{f}: runAsNonRoot")
    if "uid" in docker:
        check(sc.get("runAsUser") == docker["uid"], f"{f}: runAsUser {sc.get('runAsUser')} == the image's user uid {docker['uid']}")
    cpu = ((c.get("resources") or {}).get("limits") or {}).get("cpu")
    if cpu is not None:
        cpus = float(cpu[:-1]) / 1000 if str(cpu).endswith("m") else float(cpu)
        for n in example["instances"]:
            numeric = isinstance(n, int) or (isinstance(n, str) and n.lstrip("-").isdigit())
            check(numeric and 0 < int(n) <= max(1, math.ceil(cpus)),
                  f"{f}: instances {n!r} sized to the CPU limit {cpu} ('max' would count the node's CPUs)")
    svcs = by_kind.get("Service", [])
    if check(len(svcs) >= 1, "a Service"):
        sf, svc = svcs[0]
        check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()), f"{sf}: selector matches the pod's labels")
        for p in svc["spec"]["ports"]:
            tp = p.get("targetPort", p["port"])
            check(port_number(tp) in example["ports"], f"{sf}: targetPort {tp} is the example's port")
    return c["image"]


def check_nomad(repo, docker, example, image):
    ndir = os.path.join(repo, "deploy", "nomad")
    files = [f for f in sorted(os.listdir(ndir)) if f.endswith(".hcl")]
    print("== Nomad job (deploy/nomad, parsed by validate.py's HCL subset parser)")
    if not check(len(files) == 1, "one .nomad.hcl job file"):
        return
    f = files[0]
    try:
        root = Hcl(open(os.path.join(ndir, f), encoding="utf-8").read()).parse()
    except SyntaxError as e:
        check(False, f"{f}: parses ({e})")
        return
    check(True, f"{f}: parses")
    jobs = blocks(root, "job")
    if not check(len(jobs) == 1 and len(jobs[0][1]) == 1, f"{f}: one job block with a name"):
        return
    job = jobs[0][2]
    check(job["attrs"].get("type", "service") == "service", f"{f}: type = service")
    tasks = [(g, t) for g in blocks(job, "group") for t in blocks(g[2], "task")]
    task = next(((g, t) for g, t in tasks if t[2]["attrs"].get("driver") == "docker"), None)
    if not check(task is not None, f"{f}: a group with a task using the docker driver"):
        return
    group, task = task[0][2], task[1][2]
    config = blocks(task, "config")
    if not check(len(config) == 1, f"{f}: the task has a config block"):
        return
    cfg = config[0][2]["attrs"]
    check(cfg.get("image") == image, f"{f}: image {cfg.get('image')!r} == the Kubernetes Deployment's {image!r}")
    check(cfg.get("entrypoint", docker["entrypoint"]) == docker["entrypoint"],
          f"{f}: entrypoint {cfg.get('entrypoint')} == Dockerfile ENTRYPOINT {docker['entrypoint']}")
    args = cfg.get("args", docker["cmd"])
    check(args[:1] == docker["cmd"][:1], f"{f}: args start with the Dockerfile's CMD {docker['cmd']}")
    if "--env" in args:
        env = args[args.index("--env") + 1]
        check(env in example["envs"], f"{f}: --env {env}: the ecosystem file has env_{env}")
    to_ports = set()
    for net in blocks(group, "network"):
        for port in blocks(net[2], "port"):
            to_ports.add(port[2]["attrs"].get("to"))
            check(port[1][0] in cfg.get("ports", []), f"{f}: network port {port[1][0]!r} is in the task's config.ports")
    check(example["ports"] and example["ports"] <= to_ports,
          f"{f}: network port to = {sorted(p for p in to_ports if p)} includes the example's port {sorted(example['ports'])}")
    kill_ms = duration_ms(task["attrs"].get("kill_timeout", "5s"))
    margin_ms = 2000
    check(kill_ms >= example["kill_ms"] + margin_ms,
          f"{f}: task kill_timeout {kill_ms / 1000:g}s >= max(kill_timeout) {example['kill_ms'] / 1000:g}s + margin {margin_ms / 1000:g}s")
    check(kill_ms <= 30000, f"{f}: kill_timeout within Nomad clients' default max_kill_timeout (30s)")
    check(task["attrs"].get("kill_signal", "SIGINT") == docker.get("stopsignal"),
          f"{f}: kill_signal {task['attrs'].get('kill_signal')} == Dockerfile STOPSIGNAL {docker.get('stopsignal')}")
    checks = [c for s in blocks(group, "service") + blocks(task, "service") for c in blocks(s[2], "check")]
    check(len(checks) >= 1, f"{f}: the service has checks")
    script = [c[2]["attrs"] for c in checks if c[2]["attrs"].get("type") == "script"]
    for s in script:
        check([s.get("command")] + s.get("args", []) == docker["healthcheck"],
              f"{f}: script check {[s.get('command')] + s.get('args', [])} == Dockerfile HEALTHCHECK {docker['healthcheck']}")
    http = [c[2]["attrs"] for c in checks if c[2]["attrs"].get("type") in ("http", "tcp")]
    check(len(http) >= 1, f"{f}: an http or tcp check on the app's port")


def check_dockerfile(repo, docker):
    print("== Dockerfile")
    check(all(b.startswith("debian:12") for b in docker["bases"]), f"every stage FROM debian:12 ({docker['bases']})")
    check(docker.get("entrypoint") == ["drove-runtime"], f"ENTRYPOINT {docker.get('entrypoint')} is drove-runtime")
    check(bool(docker.get("cmd")), f"CMD {docker.get('cmd')} names the ecosystem file")
    check(docker.get("stopsignal") == "SIGTERM", f"STOPSIGNAL {docker.get('stopsignal')}")
    user = docker.get("user", "root")
    check(user.split(":")[0] not in ("root", "0"), f"USER {user} is not root")
    check(docker.get("healthcheck", [None])[0] == "drove", f"HEALTHCHECK {docker.get('healthcheck')} runs drove")
    setup = open(os.path.join(repo, "scripts", "setup.sh"), encoding="utf-8").read()
    for k, rest in docker["build"]:
        pkgs = apt_packages(rest) if k == "RUN" else None
        if pkgs:
            missing = [p for p in pkgs if not re.search(rf"(?<![\w.+-]){re.escape(p)}(?![\w.+-])", setup)]
            check(not missing, f"the build stage's apt packages are scripts/setup.sh's (CI has them){': not there: ' + ' '.join(missing) if missing else ''}")
    print(f"  ok   the example: {os.path.relpath(docker['example']['path'], repo)}: port(s) {sorted(docker['example']['ports'])}, "
          f"max kill_timeout {docker['example']['kill_ms']:g} ms")


def manifests(repo):
    docker = docker_model(repo)
    example = example_model(repo, docker)
    docker["example"] = example
    check_dockerfile(repo, docker)
    image = check_kubernetes(repo, docker, example)
    check_nomad(repo, docker, example, image)
    if errors:
        print(f"{len(errors)} check(s) failed")
        return 1
    return 0


# ---- the replay plan ------------------------------------------------------------------------------
def plan(repo, maps):
    """Shell assignments describing the Dockerfile, with image paths mapped to host paths."""
    pairs = sorted((m.split("=", 1) for m in maps), key=lambda p: -len(p[0]))

    def mapped(text):
        for image_path, host in pairs:
            text = re.sub(rf"(?<![\w/.-]){re.escape(image_path)}(?=/|\s|$|[\"';:])", host, text)
        return text

    docker = docker_model(repo)
    q = shlex.quote
    lines = []

    def arr(name, values):
        lines.append(f"{name}=({' '.join(q(v) for v in values)})")

    steps = []
    for k, rest in docker["build"]:
        if k == "FROM":
            steps.append(f"FROM {rest}")
        elif k == "RUN":
            pkgs = apt_packages(rest)
            steps.append(f"APT {' '.join(pkgs)}" if pkgs is not None else f"RUN {mapped(rest)}")
        elif k == "WORKDIR":
            steps.append(f"WORKDIR {mapped(rest)}")
        elif k == "COPY":
            src, dst = shlex.split(rest)[-2:]
            if src not in (".", "./"):
                raise SystemExit(f"check.sh replays only `COPY . <dir>` in the build stage, got: COPY {rest}")
            steps.append(f"CONTEXT {mapped(dst)}")
        else:
            raise SystemExit(f"check.sh does not know how to replay the build stage's {k} {rest}")
    arr("build_steps", steps)
    rsteps = []
    for k, rest in docker["runtime"]:
        if k == "RUN":
            pkgs = apt_packages(rest)
            rsteps.append(f"APT {' '.join(pkgs)}" if pkgs is not None else f"RUN {rest}")
        elif k == "COPY":
            words = shlex.split(rest)
            frm = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            src, dst = words[-2:]
            rsteps.append(f"COPYFROM {mapped(src)} {mapped(dst)}" if frm else f"COPY {src} {mapped(dst)}")
        elif k == "ENV":
            for part in shlex.split(rest):
                key, _, val = part.partition("=")
                rsteps.append(f"ENV {key} {mapped(val)}")
        elif k == "WORKDIR":
            rsteps.append(f"WORKDIR {mapped(rest)}")
        else:
            rsteps.append(f"{k} {rest}")
    arr("runtime_steps", rsteps)
    arr("entrypoint", docker["entrypoint"])
    arr("cmd", docker["cmd"])
    arr("healthcheck", docker["healthcheck"])
    example = example_model(repo, docker)
    lines.append(f"example_file={q(example['path'])}")
    lines.append(f"example_port={q(str(min(example['ports'])))}")
    lines.append(f"example_kill_ms={q(str(int(example['kill_ms'])))}")
    print("\n".join(lines))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "manifests":
        return manifests(argv[2])
    if len(argv) >= 3 and argv[1] == "plan":
        return plan(argv[2], argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
