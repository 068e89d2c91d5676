"""Samples, failures, and the rows of the comparison table."""
import statistics


class Row:
    def __init__(self, scenario, metric, unit, better, drove, pm2, baseline=None, baseline_label=None):
        self.scenario = scenario
        self.metric = metric          # e.g. "list, 100 apps"
        self.unit = unit              # e.g. "ms"
        self.better = better          # "lower" or "higher"
        self.keys = {"drove": drove, "pm2": pm2}
        self.baseline = baseline      # series key of a reference without a manager (plain node)
        self.baseline_label = baseline_label

    def to_json(self):
        return {"scenario": self.scenario, "metric": self.metric, "unit": self.unit,
                "better": self.better, "drove": self.keys["drove"], "pm2": self.keys["pm2"],
                "baseline": self.baseline, "baseline_label": self.baseline_label}


class Results:
    def __init__(self):
        self.samples = {}   # series key -> [float]
        self.raw = {}       # series key -> [dict] (every sample's details)
        self.errors = {}    # series key -> [str]
        self.rows = []
        self.notes = {}     # scenario -> [str]

    def row(self, *args, **kw):
        r = Row(*args, **kw)
        if not any(x.scenario == r.scenario and x.metric == r.metric for x in self.rows):
            self.rows.append(r)
        return r

    def add(self, key, value, **details):
        self.samples.setdefault(key, []).append(float(value))
        if details:
            self.raw.setdefault(key, []).append(dict(details, value=value))

    def fail(self, key, reason):
        self.errors.setdefault(key, []).append(reason)

    def note(self, scenario, text):
        lst = self.notes.setdefault(scenario, [])
        if text not in lst:
            lst.append(text)

    def stats(self, key):
        s = self.samples.get(key) or []
        if not s:
            return None
        return {"median": statistics.median(s), "min": min(s), "max": max(s), "n": len(s)}

    @classmethod
    def from_json(cls, data):
        r = cls()
        for row in data["rows"]:
            r.row(row["scenario"], row["metric"], row["unit"], row["better"], row["drove"], row["pm2"],
                  baseline=row.get("baseline"), baseline_label=row.get("baseline_label"))
        for key, s in data["series"].items():
            if s["samples"]:
                r.samples[key] = list(s["samples"])
            if s.get("raw"):
                r.raw[key] = list(s["raw"])
            if s.get("errors"):
                r.errors[key] = list(s["errors"])
        r.notes = {k: list(v) for k, v in data.get("notes", {}).items()}
        return r

    def to_json(self):
        return {"rows": [r.to_json() for r in self.rows],
                "series": {k: {"samples": v, "stats": self.stats(k), "raw": self.raw.get(k, []),
                               "errors": self.errors.get(k, [])}
                           for k, v in self.samples.items()}
                | {k: {"samples": [], "stats": None, "raw": [], "errors": e}
                   for k, e in self.errors.items() if k not in self.samples},
                "notes": self.notes}


def fmt_num(x):
    if x is None:
        return "–"
    ax = abs(x)
    if x == int(x) and ax < 1e15:
        return f"{int(x):,}"
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1 or ax == 0:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(results, key):
    """'median [min–max]', or 'n/a (failed: reason)'."""
    if key is None:
        return "–"
    st = results.stats(key)
    errs = results.errors.get(key, [])
    if st is None:
        if errs:
            return f"n/a (failed: {errs[0]})"
        return "n/a (not run)"
    text = fmt_num(st["median"])
    if st["n"] > 1:
        text += f" [{fmt_num(st['min'])}–{fmt_num(st['max'])}]"
    if errs:
        text += f" ({len(errs)} failed)"
    return text


def ratio(results, row):
    a, b = results.stats(row.keys["drove"]), results.stats(row.keys["pm2"])
    if not a or not b or b["median"] == 0:
        return "–"
    if a["median"] == 0:
        return "0×"
    q = a["median"] / b["median"]
    if abs(q) < 0.005:
        return "<0.01×" if q > 0 else "≈0×"
    return f"{q:.2f}×"


def table_rows(results):
    out = []
    for r in results.rows:
        note = ""
        if r.baseline:
            note = f"{r.baseline_label or 'plain node'}: {cell(results, r.baseline)}"
        out.append([r.scenario, f"{r.metric} ({r.unit})" if r.unit else r.metric,
                    cell(results, r.keys["drove"]), cell(results, r.keys["pm2"]),
                    ratio(results, r), "; ".join(x for x in (f"{r.better} is better" if r.better else "", note) if x)])
    return out


HEADERS = ["scenario", "metric", "drove median [min–max]", "PM2 median [min–max]", "drove/PM2", "notes"]


def text_table(results, width_cap=60):
    rows = [[c if len(c) <= width_cap else c[:width_cap - 1] + "…" for c in row] for row in table_rows(results)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    line = "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    last = None
    for r in rows:
        shown = list(r)
        if r[0] == last:
            shown[0] = ""
        last = r[0]
        out.append("  ".join(c.ljust(w) for c, w in zip(shown, widths)).rstrip())
    return "\n".join(out)


def markdown_table(results):
    esc = lambda s: s.replace("|", "\\|")
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    last = None
    for r in table_rows(results):
        shown = list(r)
        if r[0] == last:
            shown[0] = ""
        last = r[0]
        out.append("| " + " | ".join(esc(c) for c in shown) + " |")
    return "\n".join(out)
