"""Published baselines: every published number with its source, who measured it, and the protocol.

``baselines/models.toml`` lists the models (``[[model]]`` name, display, kind, aliases, focus). Every other
``baselines/*.toml`` file holds published values::

    schema_version = 1
    [document]                       # optional; `label` is the default `ref` of the entries below
    label = "Z-Image report"
    citation = "Z-Image technical report, arXiv 2511.22699"

    [[entry]]
    model = "z-image"                # a name (or alias) from models.toml
    metric = "geneval"               # a name from lensbench.reports.metrics.METRICS ...
    values = { single_object = "1.00", overall = "0.84" }   # ... with categories; or `value = "0.84"`
    # metrics = { geneval = "0.930", dpg = "88.19" }        # or several headline metrics of one table row
    source = "arXiv 2511.22699 Table 9"                    # required: paper + table, or URL
    measured_by = "authors"          # required: "authors" (the model's own authors) or the group's name
    protocol = { rewriter = "unknown", images_per_prompt = 4, resolution = "1024x1024" }
    uncertain = false                # true where the reference marks ⚠️ / ❓ / (?)
    comparison = true                # false: leave out of the short comparison table (ablation settings)
    device = "1x NVIDIA H100"        # required for speed/memory metrics; height/width/steps/compile optional

Values are strings so the published precision survives ("0.930" stays 0.930); numbers are accepted too.
A string may carry a qualifier: "<1" / "≤3" (upper bound), "~300" / "≈13" (approximate), "45-48" (range).
Any problem raises `UserError` naming the file and the entry.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbench.baselines import data_dir, read_toml
from lensbench.errors import UserError
from lensbench.filecheck import check_typed
from lensbench.reports.metrics import METRICS

SCHEMA_VERSION = 1
ENTRY_KEYS = {"model", "metric", "metrics", "value", "values", "source", "measured_by", "ref", "variant", "protocol",
              "uncertain", "note", "comparison", "device", "height", "width", "steps", "batch_size", "compile", "dtype"}
#: the type of every entry key (lensbench.filecheck.check_typed; values stay strings or numbers, see parse_value)
ENTRY_TYPES: dict[str, Any] = {
    "model": str, "metric": str, "metrics": dict[str, Any], "value": str | int | float, "values": dict[str, Any],
    "source": str, "measured_by": str, "ref": str, "variant": str, "protocol": dict[str, Any] | str, "uncertain": bool,
    "note": str, "comparison": bool, "device": str, "height": int, "width": int, "steps": int, "batch_size": int,
    "compile": bool | str, "dtype": str}
PROTOCOL_KEYS = {"rewriter", "images_per_prompt", "resolution", "steps", "guidance", "seeds", "judge", "notes"}
MODEL_KEYS = {"name", "display", "kind", "org", "aliases", "focus"}
_VALUE_RE = re.compile(r"^(?P<q><|≤|~|≈)?\s*(?P<a>\d+(?:\.\d+)?)(?:\s*[-–]\s*(?P<b>\d+(?:\.\d+)?))?$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    display: str
    kind: str = "open"  # "open" | "closed"
    org: str = ""
    aliases: tuple[str, ...] = ()
    focus: bool = False  # shown in the short comparison table
    order: int = 0  # position in models.toml (row order of every table)


@dataclass(frozen=True)
class PublishedValue:
    model: str
    metric: str
    category: str | None  # None = headline/overall
    value: float  # midpoint for ranges
    text: str  # as published, e.g. "0.930", "<1", "45-48"
    qualifier: str  # "" | "<" (upper bound) | "~" (approximate) | "range"
    source: str
    measured_by: str
    ref: str  # short label of the reporting document, used for table rows
    uncertain: bool = False
    variant: str = ""
    comparison: bool = True  # False: left out of the short comparison table (e.g. ablation settings)
    protocol: tuple[tuple[str, Any], ...] = ()
    note: str = ""
    device: str = ""
    height: int | None = None
    width: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    compile: bool | None = None
    dtype: str = ""
    file: str = ""
    entry: int = 0

    @property
    def by_authors(self) -> bool:
        return self.measured_by == "authors"

    @property
    def megapixels(self) -> float | None:
        return self.height * self.width / 1e6 if self.height and self.width else None

    def protocol_text(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.protocol)

    def where(self) -> str:
        return f"{self.file} entry {self.entry} ({self.model} {self.metric})"


@dataclass
class Baselines:
    models: dict[str, ModelInfo]
    values: list[PublishedValue] = field(default_factory=list)
    directory: Path | None = None

    def resolve_model(self, name: str | None) -> str | None:
        """Canonical model name for a run's model name, repo id or alias (case-insensitive); None if unknown."""
        if not name:
            return None
        key = name.strip().lower()
        for m in self.models.values():
            if key == m.name.lower() or key == m.display.lower() or key in (a.lower() for a in m.aliases):
                return m.name
        return None

    def display(self, model: str) -> str:
        m = self.models.get(model)
        return m.display if m else model

    def order(self, model: str) -> int:
        m = self.models.get(model)
        return m.order if m else len(self.models)

    def query(self, *, model: str | None = None, metric: str | None = None, category: Any = ...,
              measured_by: str | None = None) -> list[PublishedValue]:
        out = []
        for v in self.values:
            if model is not None and v.model != model:
                continue
            if metric is not None and v.metric != metric:
                continue
            if category is not ... and v.category != category:
                continue
            if measured_by is not None and v.measured_by != measured_by:
                continue
            out.append(v)
        return out


def default_baselines_dir() -> Path:
    """$LENSBENCH_BASELINES, else the baseline files shipped with the package (`lensbench.baselines.data_dir`)."""
    return data_dir()


def parse_value(raw: Any, decimals: int) -> tuple[float, str, str, float | None, float | None]:
    """(value, text, qualifier, low, high) of a published value written as a string or a number."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError(f"value {raw!r} is not a number or a numeric string")
    if not isinstance(raw, str):
        return float(raw), f"{float(raw):.{decimals}f}", "", None, None
    s = raw.strip()
    m = _VALUE_RE.match(s)
    if not m:
        raise ValueError(f"value {raw!r} is not a number (qualifiers allowed: <, ≤, ~, ≈ and ranges like 45-48)")
    a = float(m["a"])
    if m["b"] is not None:
        if m["q"]:
            raise ValueError(f"value {raw!r} mixes a qualifier and a range")
        b = float(m["b"])
        if b < a:
            raise ValueError(f"range {raw!r} goes downwards")
        return (a + b) / 2, f"{m['a']}–{m['b']}", "range", a, b
    q = {"<": "<", "≤": "<", "~": "~", "≈": "~"}.get(m["q"] or "", "")
    return a, (m["q"] or "") + m["a"], q, None, None


def _load_models(path: Path) -> dict[str, ModelInfo]:
    data = read_toml(path)
    models: dict[str, ModelInfo] = {}
    for i, m in enumerate(data.get("model", []), start=1):
        where = f"{path.name} model {i}"
        if not isinstance(m, dict) or not m.get("name") or not m.get("display"):
            raise UserError(f"{where}: needs `name` and `display`; add them")
        unknown = sorted(set(m) - MODEL_KEYS)
        if unknown:
            raise UserError(f"{where} ({m['name']}): unknown keys {unknown}; allowed: {sorted(MODEL_KEYS)}")
        if m["name"] in models:
            raise UserError(f"{where}: model {m['name']!r} is listed twice; keep one")
        if m.get("kind", "open") not in ("open", "closed"):
            raise UserError(f"{where} ({m['name']}): kind must be 'open' or 'closed'")
        models[m["name"]] = ModelInfo(name=m["name"], display=m["display"], kind=m.get("kind", "open"),
                                      org=m.get("org", ""), aliases=tuple(m.get("aliases", ())),
                                      focus=bool(m.get("focus", False)), order=i)
    if not models:
        raise UserError(f"{path} lists no [[model]] tables; add the models the baselines refer to")
    return models


def _int_or_none(entry: dict, key: str, where: str) -> int | None:
    v = entry.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise UserError(f"{where}: `{key}` must be a positive integer, got {v!r}")
    return v


def _entry_values(entry: dict, models: dict[str, ModelInfo], doc: dict, fname: str, idx: int) -> list[PublishedValue]:
    model = entry.get("model")
    metric_label = entry.get("metric") or ",".join(sorted(entry.get("metrics") or {})) or "?"
    where = f"{fname} entry {idx} ({model} {metric_label})"

    def fail(msg: str) -> UserError:
        return UserError(f"{where}: {msg}")

    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise fail(f"unknown keys {unknown}; allowed keys: {', '.join(sorted(ENTRY_KEYS))}")
    for key, value in entry.items():  # typed: one line naming the key, the expected type and the file
        check_typed(key, value, ENTRY_TYPES[key], where=where)
    if model not in models:
        raise fail(f"unknown model {model!r}; add it to models.toml or use one of: {', '.join(sorted(models))}")
    for key in ("source", "measured_by"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise fail(f"has no `{key}`; every published value needs its {key.replace('_', ' ')} (paper + table or URL)"
                       if key == "source" else f"has no `measured_by`; say 'authors' or name the group that measured it")
    ref = entry.get("ref") or doc.get("label")
    if not ref:
        raise fail("has no `ref` and the file has no [document] label; add a short label for table rows")
    protocol = entry.get("protocol", {})
    if isinstance(protocol, str):
        protocol = {"notes": protocol}
    if not isinstance(protocol, dict) or set(protocol) - PROTOCOL_KEYS:
        raise fail(f"protocol keys must be among {sorted(PROTOCOL_KEYS)}")
    # which (metric, category, raw) triples does this entry hold?
    forms = [k for k in ("metric", "metrics") if k in entry]
    if len(forms) != 1:
        raise fail("give exactly one of `metric` or `metrics`")
    triples: list[tuple[str, str | None, Any]] = []
    if "metrics" in entry:
        if "value" in entry or "values" in entry or not isinstance(entry["metrics"], dict) or not entry["metrics"]:
            raise fail("`metrics` must be a non-empty table {metric = value} and excludes `value`/`values`")
        triples = [(m, None, raw) for m, raw in entry["metrics"].items()]
    else:
        if ("value" in entry) == ("values" in entry):
            raise fail("give exactly one of `value` or `values`")
        if "value" in entry:
            triples = [(entry["metric"], None, entry["value"])]
        else:
            if not isinstance(entry["values"], dict) or not entry["values"]:
                raise fail("`values` must be a non-empty table {category = value}")
            triples = [(entry["metric"], None if c == "overall" else c, raw) for c, raw in entry["values"].items()]
    out = []
    for metric, category, raw in triples:
        info = METRICS.get(metric)
        if info is None:
            raise fail(f"unknown metric {metric!r}; known metrics: {', '.join(sorted(METRICS))}")
        if category is not None and category not in info.categories:
            raise fail(f"metric {metric!r} has no category {category!r}; allowed: overall, {', '.join(info.categories)}")
        if info.needs_device and not entry.get("device"):
            raise fail(f"metric {metric!r} needs `device` (the hardware it was measured on)")
        try:
            value, text, qualifier, _lo, _hi = parse_value(raw, info.decimals)
        except ValueError as exc:
            raise fail(str(exc)) from None
        out.append(PublishedValue(
            model=model, metric=metric, category=category, value=value, text=text, qualifier=qualifier,
            source=entry["source"].strip(), measured_by=entry["measured_by"].strip(), ref=ref,
            uncertain=bool(entry.get("uncertain", False)), variant=entry.get("variant", ""),
            comparison=bool(entry.get("comparison", True)),
            protocol=tuple(sorted(protocol.items())), note=entry.get("note", ""), device=entry.get("device", ""),
            height=_int_or_none(entry, "height", where), width=_int_or_none(entry, "width", where),
            steps=_int_or_none(entry, "steps", where), batch_size=_int_or_none(entry, "batch_size", where),
            compile=entry.get("compile"), dtype=entry.get("dtype", ""), file=fname, entry=idx,
        ))
    return out


def _identity(v: PublishedValue) -> tuple:
    return (v.model, v.metric, v.category, v.ref, v.measured_by, v.variant, v.device, v.height, v.width, v.steps,
            v.compile, v.protocol)


def load_baselines(directory: str | os.PathLike | None = None) -> Baselines:
    """Load and validate every baseline file in `directory` (default: `default_baselines_dir()`)."""
    root = Path(directory) if directory is not None else default_baselines_dir()
    models_path = root / "models.toml"
    if not models_path.exists():
        raise UserError(f"no baselines found: {models_path} does not exist; pass --baselines DIR or set LENSBENCH_BASELINES")
    models = _load_models(models_path)
    values: list[PublishedValue] = []
    seen: dict[tuple, PublishedValue] = {}
    for path in sorted(root.glob("*.toml")):
        if path.name == "models.toml":
            continue
        data = read_toml(path)
        if data.get("schema_version") != SCHEMA_VERSION:
            raise UserError(f"{path.name}: schema_version must be {SCHEMA_VERSION}; add `schema_version = {SCHEMA_VERSION}`")
        unknown = sorted(set(data) - {"schema_version", "document", "entry"})
        if unknown:
            raise UserError(f"{path.name}: unknown top-level keys {unknown}; use [document] and [[entry]] tables")
        doc = data.get("document", {})
        for idx, entry in enumerate(data.get("entry", []), start=1):
            if not isinstance(entry, dict):
                raise UserError(f"{path.name} entry {idx}: must be a [[entry]] table")
            for v in _entry_values(entry, models, doc, path.name, idx):
                key = _identity(v)
                if key in seen:
                    raise UserError(f"{v.where()}: duplicates {seen[key].where()} ({v.metric} {v.category or 'overall'}); "
                                    "give one a `variant` or remove it")
                seen[key] = v
                values.append(v)
    return Baselines(models=models, values=values, directory=root)
