"""`lensbench check`: a noise-aware regression gate for CI.

Quality: a metric FAILS only when its drop (relative to the baseline value) exceeds the tolerance AND the
run's 95% CI excludes the baseline value; a drop past the tolerance whose CI still covers the baseline is a
WARN (within noise). Without a CI the tolerance alone decides (and the table says so). Latency (and
optionally peak memory) FAILS when current / baseline exceeds a ratio threshold, per matching configuration.

A baseline is a JSON file written by `write_baseline` (``lensbench check RUN --write-baseline FILE``) or
another run directory. It records the suite file's sha256 and each scorer's fingerprint (backend, models,
decision-changing options); a run scored on another suite file or with another scorer fingerprint is refused
with a one-line error, since its numbers would not measure the same thing. Version-1 baselines (without them)
are still read; the check then says so.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.reports.runs import RunData, load_run
from lensbench.reports.tables import Table, fmt_num
from lensbench.util.sizes import format_size

BASELINE_FORMAT = "lensbench-gate-baseline"
BASELINE_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
DEFAULT_TOLERANCE = 0.02  # relative drop (2 % of the baseline value)
DEFAULT_LATENCY_RATIO = 1.20  # cf. vllm-omni#5108's 20 % latency-overhead gate (design-anchors.md §4.8)
SPEED_KEY = ("model", "device", "height", "width", "steps", "batch_size", "dtype", "compile")
SPEED_STATS = ("latency_p50_s", "latency_mean_s", "latency_p90_s")


@dataclass
class Tolerances:
    quality: float = DEFAULT_TOLERANCE
    per_metric: dict[str, float] = field(default_factory=dict)  # "metric" or "metric:category" -> relative tol
    latency_ratio: float = DEFAULT_LATENCY_RATIO
    latency_stat: str = "latency_p50_s"
    memory_ratio: float | None = None
    allow_missing: bool = False

    def for_metric(self, metric: str, category: str | None) -> float:
        if category is not None and f"{metric}:{category}" in self.per_metric:
            return self.per_metric[f"{metric}:{category}"]
        return self.per_metric.get(metric, self.quality)

    def settings(self) -> dict[str, Any]:
        return {"quality_tolerance": self.quality, "per_metric": dict(sorted(self.per_metric.items())),
                "latency_ratio": self.latency_ratio, "latency_stat": self.latency_stat,
                "memory_ratio": self.memory_ratio, "allow_missing": self.allow_missing}


def _parse_rel(text: str, spec: str) -> float:
    t = text.strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise UserError(f"--tolerance {spec!r}: {text!r} is not a number; use e.g. 0.02 or 2%") from None
    if not 0 <= v < 1:
        raise UserError(f"--tolerance {spec!r}: a relative drop must be in [0, 1) (0.02 = 2 %)")
    return v


def parse_tolerances(specs: list[str] | None, **kw: Any) -> Tolerances:
    """'0.02' / '2%' sets the default; 'geneval=0.01' or 'geneval:counting=5%' sets one metric."""
    tol = Tolerances(**kw)
    if tol.latency_ratio <= 1.0:
        raise UserError(f"--latency-ratio must be above 1.0 (1.2 = 20 % slower fails), got {tol.latency_ratio}")
    if tol.memory_ratio is not None and tol.memory_ratio <= 1.0:
        raise UserError(f"--memory-ratio must be above 1.0, got {tol.memory_ratio}")
    if tol.latency_stat not in SPEED_STATS:
        raise UserError(f"--latency-stat must be one of {', '.join(SPEED_STATS)}")
    for spec in specs or []:
        key, sep, val = spec.rpartition("=")
        if sep:
            if not key.strip():
                raise UserError(f"--tolerance {spec!r}: use METRIC=VALUE or METRIC:CATEGORY=VALUE")
            tol.per_metric[key.strip()] = _parse_rel(val, spec)
        else:
            tol.quality = _parse_rel(val, spec)
    return tol


# -- baselines ------------------------------------------------------------------------------------------------
def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def baseline_from_run(run: RunData, *, keep_nan: bool = False) -> dict[str, Any]:
    quality = []
    for scorer, mv in run.metric_values():
        if (not keep_nan and not _finite(mv.value)) or (mv.category or "").startswith("prompt:"):
            continue
        quality.append({"scorer": scorer, "metric": mv.metric, "category": mv.category, "value": mv.value,
                        "ci_low": mv.ci_low if _finite(mv.ci_low) else None,
                        "ci_high": mv.ci_high if _finite(mv.ci_high) else None, "n": mv.n,
                        "higher_is_better": mv.higher_is_better, "unit": mv.unit})
    speed = [{**{k: s[k] for k in SPEED_KEY}, "status": s["status"], **{k: s[k] for k in SPEED_STATS},
              "peak_alloc_gb": s["peak_alloc_gb"]} for s in run.speed]
    quality.sort(key=lambda q: (q["scorer"], q["metric"], q["category"] or ""))
    speed.sort(key=lambda s: tuple(str(s[k]) for k in SPEED_KEY))
    scorers = {r.scorer: {"fingerprint_id": r.fingerprint_id, "fingerprint": r.fingerprint} for r in run.results}
    return {"format": BASELINE_FORMAT, "version": BASELINE_VERSION, "run_id": run.run_id, "model": run.model,
            "suite_sha256": (run.manifest.get("suite") or {}).get("checksum"), "scorers": scorers,
            "quality": quality, "speed": speed}


def _refuse_mismatches(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """UserError when the run was made on another suite file or scored under another scorer fingerprint;
    returns notes on what could not be verified (older baselines)."""
    notes = []
    want = baseline.get("suite_sha256")
    if "suite_sha256" not in baseline:
        notes.append("baseline records no suite sha256 (version 1): suite identity not verified")
    elif want and current.get("suite_sha256") != want:
        got = current.get("suite_sha256")
        raise UserError(f"the baseline was recorded on suite file sha256 {str(want)[:12]}…, this run used "
                        f"{str(got)[:12] + '…' if got else 'an unrecorded suite'}; numbers on another prompt set are "
                        "not comparable: record a new baseline with --write-baseline")
    base_sc = baseline.get("scorers")
    if base_sc is None:
        notes.append("baseline records no scorer fingerprints (version 1): scorer settings not verified")
        return notes
    used = {q["scorer"] for q in baseline.get("quality", [])}
    for scorer in sorted(used):
        want_fp = (base_sc.get(scorer) or {}).get("fingerprint_id")
        got_fp = ((current.get("scorers") or {}).get(scorer) or {}).get("fingerprint_id")
        if want_fp and got_fp != want_fp:
            raise UserError(f"scorer {scorer!r}: the baseline was scored with fingerprint {want_fp}, this run with "
                            f"{got_fp or 'none recorded'} (another backend, model or option); re-score the run with "
                            "the baseline's settings or record a new baseline with --write-baseline")
        if not want_fp:
            notes.append(f"baseline records no fingerprint for scorer {scorer!r}: its settings are not verified")
    return notes


def write_baseline(run_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    data = baseline_from_run(load_run(run_dir))
    if not data["quality"] and not data["speed"]:
        raise UserError(f"{run_dir} has no results/*.json and no speed measurements to make a baseline from; "
                        "run `lensbench score` or `lensbench speed` first")
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write baseline {p} ({exc.strerror}); pick a writable path") from None
    return p


def load_gate_baseline(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        return baseline_from_run(load_run(p))
    if not p.exists():
        raise UserError(f"baseline {p} does not exist; write one with `lensbench check RUN --write-baseline {p}`")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"baseline {p} is unreadable ({exc}); rewrite it with --write-baseline") from None
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise UserError(f"{p} is not a lensbench gate baseline (no \"format\": \"{BASELINE_FORMAT}\"); "
                        "write one with --write-baseline or pass a run directory")
    if data.get("version") not in SUPPORTED_VERSIONS:
        raise UserError(f"{p}: baseline version {data.get('version')!r} is not supported (expected one of "
                        f"{', '.join(map(str, SUPPORTED_VERSIONS))}); rewrite it with --write-baseline")
    for key in ("quality", "speed"):
        if not isinstance(data.get(key, []), list):
            raise UserError(f"{p}: {key!r} must be a list")
    return data


# -- checks ---------------------------------------------------------------------------------------------------
@dataclass
class Check:
    kind: str  # quality | latency | memory
    name: str
    baseline: str
    current: str
    change: str
    threshold: str
    ci: str
    status: str  # PASS | IMPROVED | WARN | FAIL | MISSING | SKIP
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("FAIL", "MISSING")


@dataclass
class GateResult:
    checks: list[Check]
    settings: dict[str, Any]

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.checks)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.checks:
            out[c.status] = out.get(c.status, 0) + 1
        return dict(sorted(out.items()))


def _quality_check(b: dict[str, Any], cur: dict[str, Any] | None, tol: Tolerances) -> Check:
    name = f"{b['scorer']}/{b['metric']}" + (f":{b['category']}" if b.get("category") else "")
    d = 4 if abs(b["value"]) < 10 else 2
    t = tol.for_metric(b["metric"], b.get("category"))
    thr = f"-{t:.1%}"
    if cur is None:
        return Check("quality", name, fmt_num(b["value"], d), "", "", thr, "", "MISSING", "not in this run")
    if not _finite(cur["value"]):
        return Check("quality", name, fmt_num(b["value"], d), "nan", "", thr, "", "FAIL", "no value in this run")
    hib = b.get("higher_is_better", True)
    base, value = float(b["value"]), float(cur["value"])
    drop = (base - value) if hib else (value - base)
    rel = drop / abs(base) if base else (math.inf if drop > 0 else 0.0)
    lo, hi = cur.get("ci_low"), cur.get("ci_high")
    has_ci = _finite(lo) and _finite(hi)
    ci = f"[{fmt_num(lo, d)}, {fmt_num(hi, d)}]" if has_ci else "none"
    excludes = (hi < base if hib else lo > base) if has_ci else None
    change = f"{value - base:+.{d}f} ({(value - base) / abs(base):+.1%})" if base else f"{value - base:+.{d}f}"
    if rel > t:
        if excludes is False:
            status, detail = "WARN", "drop past tolerance but the CI covers the baseline (within noise)"
        else:
            status = "FAIL"
            detail = "drop past tolerance and the CI excludes the baseline" if excludes else \
                "drop past tolerance; no CI in this run, decided on the tolerance alone"
    elif -rel > t:
        status, detail = "IMPROVED", "better than the baseline beyond the tolerance"
    else:
        status, detail = "PASS", ""
    return Check("quality", name, fmt_num(base, d), fmt_num(value, d), change, thr, ci, status, detail)


def _speed_name(s: dict[str, Any]) -> str:
    comp = " compiled" if s.get("compile") else ""
    return f"{s['model']} {format_size(s['height'], s['width'])} {s['steps']} steps b{s['batch_size']} {s['dtype']}{comp} @ {s['device']}"


def _ratio_check(kind: str, b: dict[str, Any], cur: dict[str, Any] | None, stat: str, limit: float, unit: str) -> Check:
    name = _speed_name(b)
    thr = f"×{limit:.2f}"
    if cur is None:
        return Check(kind, name, fmt_num(b.get(stat), 3), "", "", thr, "", "MISSING", "configuration not in this run")
    if cur["status"] != "ok":
        return Check(kind, name, fmt_num(b.get(stat), 3), cur["status"], "", thr, "", "FAIL",
                     f"status {cur['status']} (baseline ok)")
    base, value = b.get(stat), cur.get(stat)
    if not (_finite(base) and _finite(value)) or base <= 0:
        return Check(kind, name, fmt_num(base, 3), fmt_num(value, 3), "", thr, "", "SKIP", f"no {stat} to compare")
    ratio = value / base
    status = "FAIL" if ratio > limit else ("IMPROVED" if ratio < 1 / limit else "PASS")
    detail = f"{stat} {'exceeds' if status == 'FAIL' else 'within'} ×{limit:.2f}" if status != "IMPROVED" else "faster"
    return Check(kind, name, f"{base:.3f} {unit}", f"{value:.3f} {unit}", f"×{ratio:.3f}", thr, "", status, detail)


def check_run(run_dir: str | os.PathLike, baseline: dict[str, Any], tol: Tolerances) -> GateResult:
    run = load_run(run_dir)
    current = baseline_from_run(run, keep_nan=True)
    if not baseline.get("quality") and not baseline.get("speed"):
        raise UserError("the baseline has no quality metrics and no speed rows; nothing to check against")
    notes = _refuse_mismatches(baseline, current) if baseline.get("quality") else []
    cur_q = {(q["scorer"], q["metric"], q["category"]): q for q in current["quality"]}
    checks = [_quality_check(b, cur_q.get((b["scorer"], b["metric"], b.get("category"))), tol)
              for b in baseline.get("quality", [])]
    cur_s = {tuple(s[k] for k in SPEED_KEY): s for s in current["speed"]}
    for b in baseline.get("speed", []):
        if b.get("status") != "ok":
            continue
        cur = cur_s.get(tuple(b.get(k) for k in SPEED_KEY))
        checks.append(_ratio_check("latency", b, cur, tol.latency_stat, tol.latency_ratio, "s"))
        if tol.memory_ratio is not None:
            checks.append(_ratio_check("memory", b, cur, "peak_alloc_gb", tol.memory_ratio, "GB"))
    if tol.allow_missing:
        for c in checks:
            if c.status == "MISSING":
                c.status = "SKIP"
    order = {"FAIL": 0, "MISSING": 1, "WARN": 2, "IMPROVED": 3, "PASS": 4, "SKIP": 5}
    checks.sort(key=lambda c: (order[c.status], c.kind, c.name))
    return GateResult(checks, {**tol.settings(), "run": str(run_dir), "baseline_run_id": baseline.get("run_id"),
                               "notes": notes})


def gate_table(result: GateResult) -> Table:
    t = Table("check", "lensbench check", ["Status", "Kind", "Check", "Baseline", "Current", "Change", "Fails past",
                                           "Run CI", "Detail"], numeric={3, 4, 5})
    for c in result.checks:
        t.add([c.status, c.kind, c.name, c.baseline, c.current, c.change, c.threshold, c.ci, c.detail])
    return t


def write_junit(result: GateResult, path: str | os.PathLike) -> Path:
    suite = ET.Element("testsuite", name="lensbench.check", tests=str(len(result.checks)),
                       failures=str(sum(c.failed for c in result.checks)),
                       skipped=str(sum(c.status == "SKIP" for c in result.checks)))
    for c in result.checks:
        case = ET.SubElement(suite, "testcase", classname=f"lensbench.check.{c.kind}", name=c.name)
        msg = f"baseline {c.baseline}, current {c.current}, change {c.change}, fails past {c.threshold}; {c.detail}"
        if c.failed:
            ET.SubElement(case, "failure", message=msg, type=c.status)
        elif c.status == "SKIP":
            ET.SubElement(case, "skipped", message=msg)
        else:
            ET.SubElement(case, "system-out").text = f"{c.status}: {msg}"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(root).write(p, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise UserError(f"cannot write JUnit XML {p} ({exc.strerror}); pick a writable --junit path") from None
    return p
