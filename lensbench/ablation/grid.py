"""Ablation grid files (TOML): one suite × cells, where cells are the product of the ``[axes]`` plus any explicit
``[[cells]]``, and one cell is the control that every other cell is compared with.

    name = "lens-steps-cfg"                 # default: the file name
    description = "..."
    suite = "geneval"                       # a suite name or a .jsonl file
    suite_options = { language = "en" }     # optional
    cache = true                            # or a directory; false = no image cache
    [base]                                  # any RunConfig field shared by all cells
    model = "lens"
    images_per_prompt = 4
    [axes]                                  # the product of these (in file order)
    steps = [10, 20, 30]
    guidance = [3.0, 5.0]
    [control]                               # axis values naming ONE cell (or control = "<cell name>");
    steps = 20                              # default: the first cell
    guidance = 5.0
    [[cells]]                               # optional extra cells, e.g. another model at matched latency
    name = "turbo-4"
    model = "lens-turbo"
    steps = 4
    [score]                                 # or [[score]] tables; default: the suite's scorer
    scorer = "geneval"
    options = { device = "cuda" }           # the scorer's -O options
    # paired_field / paired_aggregate / paired_metric override lensbench.ablation.paired.PAIRED_SPECS

Axes (and keys of explicit cells): model, steps, guidance, resolution (a preset of the model), size ("WxH"),
height, width, dtype, seed, negative_prompt, images_per_prompt, model_path, revision, rewriter (a name, or a table
``{name = "openai", label = "gpt", model = "..."}`` whose other keys become rewriter options), language (the suite
option), shift / scheduler_shift (the model option ``scheduler_shift``), and dotted ``model_options.X``,
``suite_options.X``, ``rewriter_options.X``.
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbench.config import RunConfig, refuse_file_only
from lensbench.errors import UserError
from lensbench.filecheck import check_typed, read_text_file
from lensbench.util.sizes import format_size, parse_size

GRID_KEYS = ("name", "description", "suite", "suite_options", "base", "axes", "cells", "control", "score", "cache")
#: the type of each top-level key (checked before anything else, naming the key, the type and the file)
GRID_TYPES: dict[str, Any] = {"name": str, "description": str, "suite": str, "suite_options": dict[str, Any],
                              "base": dict[str, Any], "axes": dict[str, Any], "cells": list[dict[str, Any]],
                              "control": str | dict[str, Any], "score": dict[str, Any] | list[dict[str, Any]],
                              "cache": bool | str}
SCORE_KEYS = ("scorer", "options", "paired_field", "paired_aggregate", "paired_metric")
_DIRECT = ("model", "steps", "guidance", "resolution", "height", "width", "dtype", "seed", "negative_prompt",
           "images_per_prompt", "model_path", "revision")
_NESTED = ("model_options", "suite_options", "rewriter_options")


def _set_direct(name: str) -> Callable[[dict[str, Any], Any], None]:
    def setter(cfg: dict[str, Any], value: Any) -> None:
        cfg[name] = value
    return setter


def _set_nested(head: str, key: str) -> Callable[[dict[str, Any], Any], None]:
    def setter(cfg: dict[str, Any], value: Any) -> None:
        cfg.setdefault(head, {})[key] = value
    return setter


def _set_size(cfg: dict[str, Any], value: Any) -> None:
    if str(value) == "native":  # the model's declared native size (resolved with the model)
        cfg["height"], cfg["width"], cfg["resolution"] = None, None, "native"
        return
    h, w = parse_size(str(value), "ablation axis size")  # WIDTHxHEIGHT, like every size lensbench prints
    cfg["height"], cfg["width"], cfg["resolution"] = h, w, None


def _set_rewriter(cfg: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        if not value.get("name"):
            raise UserError(f"a rewriter axis value needs a name, got {value!r}")
        cfg["rewriter"] = value["name"]
        opts = {k: v for k, v in value.items() if k not in ("name", "label")}
        cfg["rewriter_options"] = {**cfg.get("rewriter_options", {}), **opts}
    else:
        cfg["rewriter"] = str(value)


#: axis name -> how it changes a RunConfig dict (dotted model_options.X / suite_options.X / rewriter_options.X too)
AXES: dict[str, Callable[[dict[str, Any], Any], None]] = {
    **{name: _set_direct(name) for name in _DIRECT},
    "size": _set_size,
    "rewriter": _set_rewriter,
    "language": _set_nested("suite_options", "language"),
    "shift": _set_nested("model_options", "scheduler_shift"),
    "scheduler_shift": _set_nested("model_options", "scheduler_shift"),
}


def setter_for(axis: str) -> Callable[[dict[str, Any], Any], None]:
    if axis in AXES:
        return AXES[axis]
    head, dot, key = axis.partition(".")
    if dot and head in _NESTED and key:
        return _set_nested(head, key)
    known = ", ".join([*AXES, *(f"{n}.KEY" for n in _NESTED)])
    raise UserError(f"unknown ablation axis {axis!r}; known: {known}")


def display(value: Any) -> Any:
    """How a value shows in tables and charts (a rewriter table shows its label or name)."""
    if isinstance(value, dict):
        return value.get("label") or value.get("name") or str(value)
    return value


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


@dataclass
class Cell:
    id: str  # directory name under <out>/cells/
    values: dict[str, Any]  # axis -> raw value (as written in the grid)
    explicit: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # RunConfig fields (without out)

    def label(self) -> str:
        return ", ".join(f"{k}={display(v)}" for k, v in self.values.items()) or self.id

    def run_config(self, out_dir: Path, **extra: Any) -> RunConfig:
        return RunConfig.from_dict({**copy.deepcopy(self.config), "out": str(out_dir / "cells" / self.id), **extra})


@dataclass
class Grid:
    name: str
    path: Path | None
    suite: str
    cells: list[Cell]
    control: Cell
    axes: list[str]  # table columns: the product axes, then keys only explicit cells set
    score: list[dict[str, Any]]
    cache: bool | str = True
    description: str = ""
    text: str = ""

    def column_value(self, cell: Cell, axis: str) -> Any:
        """The cell's value on `axis`: as set by the cell, else from the grid's base, else "default"."""
        if axis in cell.values:
            return display(cell.values[axis])
        value = effective_value(cell.config, axis)
        return "default" if value is None else display(value)


def effective_value(cfg: dict[str, Any], axis: str) -> Any:
    """Read `axis` back from a RunConfig dict (the inverse of its setter); None when not set."""
    if axis == "size":
        return format_size(cfg["height"], cfg["width"]) if cfg.get("height") and cfg.get("width") else None
    if axis == "rewriter":
        return cfg.get("rewriter")
    if axis == "language":
        return (cfg.get("suite_options") or {}).get("language")
    if axis in ("shift", "scheduler_shift"):
        return (cfg.get("model_options") or {}).get("scheduler_shift")
    head, dot, key = axis.partition(".")
    if dot:
        return (cfg.get(head) or {}).get(key)
    return cfg.get(axis)


def load_grid(path: str | Path, *, suite_options: dict[str, Any] | None = None) -> Grid:
    p = Path(path)
    text = read_text_file(p, "grid file", "see examples/ablations/ for examples")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"grid file {p} is not valid TOML: {exc}") from None
    return parse_grid(data, name=p.stem, path=p, text=text, suite_options=suite_options)


def parse_grid(data: dict[str, Any], *, name: str = "grid", path: Path | None = None, text: str = "",
               suite_options: dict[str, Any] | None = None) -> Grid:
    """Validate a grid table and expand it into cells (`suite_options` override the grid's)."""
    where = f"grid {path or name}"
    unknown = sorted(set(data) - set(GRID_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; known: {', '.join(GRID_KEYS)}")
    if not isinstance(data.get("suite"), str) or not data["suite"]:
        raise UserError(f'{where}: needs suite = "<suite name or .jsonl path>"')
    for key, value in data.items():
        check_typed(key, value, GRID_TYPES[key], where=where)
    grid_name = str(data.get("name") or name)
    _check_name(grid_name, where, "name")
    base = dict(data.get("base") or {})
    refuse_file_only(base, f"{where} [base]")
    bad = sorted(set(base) & {"out", "suite", "suite_options"})
    if bad:
        raise UserError(f"{where}: [base] must not set {bad}; give suite / suite_options at the top level")
    base_cfg = {**base, "suite": data["suite"],
                "suite_options": {**dict(data.get("suite_options") or {}), **dict(suite_options or {})}}
    RunConfig.from_dict({**copy.deepcopy(base_cfg)}, where=f"{where} [base]")  # unknown keys and bad types fail here

    axes = dict(data.get("axes") or {})
    for axis, values in axes.items():
        setter_for(axis)
        if not isinstance(values, list) or not values:
            raise UserError(f"{where}: axis {axis!r} needs a non-empty list of values")
    cells: list[Cell] = []
    if axes:
        names = list(axes)
        for combo in itertools.product(*(axes[a] for a in names)):
            values = dict(zip(names, combo))
            cid = _safe("_".join(f"{a}-{display(v)}" for a, v in values.items()))
            cells.append(Cell(id=cid, values=values))
    for i, spec in enumerate(data.get("cells") or []):
        if not isinstance(spec, dict):
            raise UserError(f"{where}: [[cells]] entry {i} is not a table")
        spec = dict(spec)
        refuse_file_only(spec, f"{where} [[cells]] entry {i}")
        cid = _safe(str(spec.pop("name", f"cell-{i + 1}")))
        for axis in spec:
            setter_for(axis)
        cells.append(Cell(id=cid, values=spec, explicit=True))
    if not cells:
        raise UserError(f"{where}: no cells; add [axes] and/or [[cells]]")

    seen: dict[str, Cell] = {}
    configs: dict[str, str] = {}
    for cell in cells:
        if cell.id in seen:
            raise UserError(f"{where}: two cells are named {cell.id!r}; give [[cells]] unique names")
        seen[cell.id] = cell
        _check_name(cell.id, where, "cell name")
        cfg = copy.deepcopy(base_cfg)
        for axis, value in cell.values.items():
            setter_for(axis)(cfg, value)
        RunConfig.from_dict(copy.deepcopy(cfg), where=f"{where} cell {cell.id!r}")
        cell.config = cfg
        sig = repr(sorted((k, repr(v)) for k, v in cfg.items()))
        if sig in configs:
            raise UserError(f"{where}: cells {configs[sig]!r} and {cell.id!r} have identical settings; remove one")
        configs[sig] = cell.id

    control = _find_control(data.get("control"), cells, where)
    columns = list(axes) + [k for c in cells if c.explicit for k in c.values if k not in axes]
    columns = list(dict.fromkeys(columns))
    return Grid(name=grid_name, path=path, suite=data["suite"], cells=cells, control=control,
                axes=columns, score=_score_specs(data.get("score"), where), cache=data.get("cache", True),
                description=str(data.get("description") or ""), text=text)


def _check_name(value: str, where: str, what: str) -> None:
    """Grid and cell names become directory names: no separators, no ``..``, nothing hidden."""
    if not value.strip() or "/" in value or "\\" in value or value.startswith(".") or "\x00" in value:
        raise UserError(f"{where}: {what} {value!r} is not a plain directory name (no / or \\, no leading dot); "
                        "rename it")


def _find_control(spec: Any, cells: list[Cell], where: str) -> Cell:
    if spec is None:
        return cells[0]
    if isinstance(spec, str):
        match = [c for c in cells if c.id == _safe(spec)]
    elif isinstance(spec, dict):
        match = [c for c in cells if all(k in c.values and _same(c.values[k], v) for k, v in spec.items())]
    else:
        raise UserError(f"{where}: control must be a cell name or a table of axis values")
    if len(match) != 1:
        names = ", ".join(c.id for c in cells)
        raise UserError(f"{where}: control {spec!r} matches {len(match)} cells (must be exactly one); cells: {names}")
    return match[0]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return display(a) == display(b)


def _score_specs(spec: Any, where: str) -> list[dict[str, Any]]:
    specs = [] if spec is None else [spec] if isinstance(spec, dict) else list(spec)
    for s in specs:
        if not isinstance(s, dict):
            raise UserError(f"{where}: [score] must be a table (or [[score]] tables)")
        unknown = sorted(set(s) - set(SCORE_KEYS))
        if unknown:
            raise UserError(f"{where}: unknown [score] keys {unknown}; known: {', '.join(SCORE_KEYS)}")
    return specs
