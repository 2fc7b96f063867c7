"""The ablation runner: grid → one run directory per cell → scores → tidy table, paired deltas, charts.

Python API: ``run_ablation("examples/ablations/tiny.toml", "runs/abl")``; ``lensbench ablate GRID`` calls exactly this.

For every cell: import the images whose work-item keys the shared image cache already holds (lensbench.ablation.cache;
image first, then its record, under the cell's lock), run `run_generate` (which then makes only the rest; one
loaded generator is shared by consecutive cells that load the same model the same way), and add the new images to
the cache. Then `run_score` per cell and scorer (resumable), and the tables. Every step is resumable: re-running the
same command after a crash continues where it stopped, and a second ablation over the same settings (any output
directory) generates nothing.

Output directory::

    grid.toml  plan.json  ablation.json           the grid as given, the expanded cells, everything below as JSON
    cells/<cell>/                                  a normal lensbench run directory per cell
    results.csv  results.md                        tidy: one row per cell × metric × category, Δ vs control
    summary.md                                     headline metric per cell with paired Δ [95% CI]
    by_language.csv  by_language.md                when the grid has a language axis
    charts/<scorer>_<metric>_vs_<axis>.png
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lensbench.ablation import paired as pd
from lensbench.ablation import report as rp
from lensbench.ablation.cache import ImageCache, default_cache_dir
from lensbench.ablation.grid import Cell, Grid, load_grid
from lensbench.ablation.scored import load_scored_run
from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.runners.plan import canonical_hash
from lensbench.store.atomic import write_json_atomic, write_text_atomic
from lensbench.store.run_store import RunStore
from lensbench.util.lock import exclusive_lock, holder_note
from lensbench.util.sizes import format_size

if TYPE_CHECKING:  # runners.generate is imported lazily (it pulls in the generator stack)
    from lensbench.runners.generate import Prepared

GeneratorFactory = Callable[[RunConfig, "Prepared"], Any]


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out / ".ablation.lock", lambda holder: UserError(
            f"ablation directory {out} is in use by {holder}; wait for it or use another --out"), note=holder_note()):
        yield


def _cache_for(grid: Grid, cache_dir: str | Path | None, use_cache: bool | None) -> ImageCache | None:
    if use_cache is False or (use_cache is None and grid.cache is False):
        return None
    if cache_dir is not None:
        return ImageCache(cache_dir)
    if isinstance(grid.cache, str):
        base = grid.path.parent if grid.path is not None else Path.cwd()
        return ImageCache(base / Path(grid.cache).expanduser())
    return ImageCache(default_cache_dir())


def _done_keys(store: RunStore) -> set[str]:
    from lensbench.store.integrity import record_problem

    if not store.run_dir.exists():
        return set()
    return {r["key"] for r in store.records("generate")
            if r.get("status") == "ok" and record_problem(store.run_dir, r) is None}


def _check_cell_dir(store: RunStore, ctx: Prepared, cell: Cell) -> None:
    """Refuse a cell directory that holds another configuration (before anything is imported into it)."""
    old = store.read_manifest()
    if old is None or not _done_keys(store):  # an attempt that made nothing does not pin its settings
        return
    suite = ctx.suite
    if old.get("settings_hash") != canonical_hash(ctx.settings) or old.get("suite", {}).get("checksum") != suite.checksum():
        raise UserError(f"{store.run_dir} holds cell {cell.id!r} made with other settings (the grid changed); "
                        "use a new --out for the changed grid")


def import_cached(cache: ImageCache, store: RunStore, ctx: Prepared) -> int:
    """Commit every planned image that the cache holds and the run lacks; returns how many."""
    n = 0
    with store.locked():
        done = _done_keys(store)
        prepared: set[str] = set()
        for w in ctx.plan:
            if w.key in done or not cache.has(w.key):
                continue
            if w.item.id not in prepared:
                ctx.suite.prepare_item(store.run_dir, w.item)
                prepared.add(w.item.id)
            if cache.import_into(store, w.key, w.image) is not None:
                done.add(w.key)
                n += 1
    return n


def export_to_cache(cache: ImageCache, store: RunStore, ctx: Prepared) -> int:
    keys = {w.key for w in ctx.plan}
    return sum(cache.put(store.run_dir, r) for r in store.records("generate") if r.get("key") in keys)


#: model options an ablation axis sets that the adapter must confirm in `info()` after loading (else the cells
#: would differ in their keys but not in their images)
MUST_APPLY = ("scheduler_shift",)


class _SharedGenerator:
    """A generator that loads once however often `run_generate` calls `load()` (cells share it)."""

    def __init__(self, gen: Any, model_options: dict[str, Any] | None = None):
        self._gen = gen
        self._loaded = False
        self._expect = {k: v for k, v in (model_options or {}).items() if k in MUST_APPLY}

    def load(self) -> None:
        if not self._loaded:
            self._gen.load()
            self._loaded = True
            info = self._gen.info() or {}
            for key, value in self._expect.items():
                if info.get(key) != value:
                    raise UserError(f"the {info.get('adapter') or type(self._gen).__name__} adapter of "
                                    f"{info.get('model') or '?'} does not apply model option {key}={value!r} (its "
                                    f"info() reports {info.get(key)!r}); drop that axis for this model")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gen, name)


def _default_factory(cfg: RunConfig, ctx: Prepared) -> Any:
    from lensbench.generators import LoadOptions, make_generator
    from lensbench.runners.plan import load_model_options

    return make_generator(ctx.spec, LoadOptions(
        model_path=cfg.model_path, device=ctx.device, dtype=ctx.settings["dtype"], offload=cfg.offload,
        trust_remote_code=cfg.trust_remote_code, revision=cfg.revision,
        options=load_model_options(cfg.model_options)))


def _generator_key(cfg: RunConfig, ctx: Prepared) -> str:
    return canonical_hash([cfg.model, cfg.model_path, cfg.revision, ctx.device, ctx.settings["dtype"], cfg.offload,
                           cfg.trust_remote_code, cfg.model_options])


def plan_cells(grid: Grid, out: Path, *, progress: bool = True, limit: int | None = None,
               trust_remote_code: bool = False) -> list[tuple[Cell, RunConfig, dict[str, Any]]]:
    """Resolve every cell (model, suite, size, steps, model options, image paths) before anything runs."""
    from lensbench.runners.generate import prepare

    planned = []
    extra: dict[str, Any] = {"limit": limit} if limit else {}
    if trust_remote_code:
        extra["trust_remote_code"] = True
    for cell in grid.cells:
        cfg = cell.run_config(out, progress=progress, **extra)
        planned.append((cell, cfg, prepare(cfg)))
    return planned


def score_specs(grid: Grid, default: str | None, scorer: str | None,
                scorer_options: dict[str, Any] | None) -> list[tuple[str | None, dict[str, Any], dict[str, Any]]]:
    """(scorer name, options, spec) per [score] table; names and options are checked here, before any image."""
    from lensbench.scorers import make_scorer

    specs = grid.score or [{}]
    if scorer is not None:
        specs = [{**(specs[0] if len(specs) == 1 else {}), "scorer": scorer}]
    out = []
    for spec in specs:
        name = spec.get("scorer") or default
        options = {**dict(spec.get("options") or {}), **dict(scorer_options or {})}
        if name:
            make_scorer(name, options)  # unknown scorer or option: refused now, not after generating
        out.append((name, options, spec))
    return out


def plan_summary(grid: Grid, out: Path, cache: ImageCache | None, limit: int | None = None) -> dict[str, Any]:
    rows, seen = [], set()
    for cell, cfg, ctx in plan_cells(grid, out, progress=False, limit=limit):
        store = RunStore(cfg.out)
        done = _done_keys(store) if store.run_dir.exists() else set()
        keys = [w.key for w in ctx.plan]
        in_run = sum(k in done for k in keys)
        cached = sum(k not in done and (k in seen or (cache is not None and cache.has(k))) for k in keys)
        seen.update(keys)
        s = ctx.settings
        rows.append({"cell": cell.id, "control": cell is grid.control, "label": cell.label(), "model": s["model"],
                     "size": format_size(s["height"], s["width"]), "steps": s["steps"], "guidance": s["guidance"],
                     "dtype": s["dtype"], "rewriter": s["rewriter"].get("name"), "prompts": len(ctx.suite),
                     "planned": len(keys), "done": in_run, "cached": cached, "to_generate": len(keys) - in_run - cached,
                     "run_dir": cfg.out})
    totals = {k: sum(r[k] for r in rows) for k in ("planned", "done", "cached", "to_generate")}
    return {"grid": grid.name, "out": str(out), "cache": str(cache.root) if cache else None,
            "control": grid.control.id, "cells": rows, "totals": totals}


def run_ablation(grid_path: str | Path, out_dir: str | Path | None = None, dry_run: bool = False, *,
                 suite_options: dict[str, Any] | None = None, cache_dir: str | Path | None = None,
                 use_cache: bool | None = None, score: bool = True, scorer: str | None = None,
                 scorer_options: dict[str, Any] | None = None, generator_factory: GeneratorFactory | None = None,
                 limit: int | None = None, n_boot: int = 2000, seed: int = 0, progress: bool = True,
                 trust_remote_code: bool = False, chart_style: str | None = None) -> dict[str, Any]:
    """Run (or with `dry_run`, only plan) the ablation in `grid_path`; returns what was done and where.

    `limit` keeps the first N prompts of every cell (a quick look; work-item keys do not depend on it, so a later
    full run reuses these images). `generator_factory(cfg, ctx)` replaces the model loader (tests, custom loaders).
    `trust_remote_code` (the CLI flag) is the only way to let cells run code shipped with weights: a grid
    file cannot. The whole grid (models, suites, sizes, options, scorers and their options) is checked before
    the first image is made. `chart_style` (paper | slides; `--chart-style`) draws the charts; None: the
    $LENSBENCH_CHART_STYLE preset, else paper.
    """
    from lensbench.dist import DistContext

    rp.check_chart_style(chart_style)

    grid = load_grid(grid_path, suite_options=suite_options)
    out = Path(out_dir) if out_dir is not None else Path("runs") / "ablations" / grid.name
    cache = _cache_for(grid, cache_dir, use_cache)
    planned = plan_cells(grid, out, progress=progress, limit=limit, trust_remote_code=trust_remote_code)
    specs = score_specs(grid, planned[0][2].suite.default_scorer, scorer, scorer_options) if score else []
    if dry_run:
        return plan_summary(grid, out, cache, limit)
    if DistContext.from_env().world_size > 1:
        raise UserError("lensbench ablate runs in one process; shard single runs with torchrun instead")
    t0 = time.perf_counter()
    with _locked(out):
        write_text_atomic(out / "grid.toml", grid.text or "")
        write_json_atomic(out / "plan.json", {"grid": grid.name, "control": grid.control.id, "cells": [
            {"cell": c.id, "label": c.label(), "values": c.values, "run_dir": cfg.out, "config": cfg.to_dict(),
             "settings_hash": canonical_hash(ctx.settings), "n_work_items": len(ctx.plan)}
            for c, cfg, ctx in planned]})
        stats = _generate_all(planned, cache, generator_factory or _default_factory)
        result: dict[str, Any] = {"grid": grid.name, "out": str(out), "cache": str(cache.root) if cache else None,
                                  "control": grid.control.id, "cells": stats}
        if score:
            result.update(_score_and_report(grid, out, planned, stats, specs, n_boot, seed, progress, chart_style))
        result["seconds"] = round(time.perf_counter() - t0, 3)
        write_json_atomic(out / "ablation.json", result)
    return result


def _generate_all(planned, cache: ImageCache | None, factory: GeneratorFactory) -> dict[str, dict[str, Any]]:
    from lensbench.runners.generate import run_generate

    stats: dict[str, dict[str, Any]] = {}
    current_key, current = None, None
    order = sorted(planned, key=lambda p: _generator_key(p[1], p[2]))  # stable: cells sharing a model run together
    try:
        for cell, cfg, ctx in order:
            store = RunStore(cfg.out)
            _check_cell_dir(store, ctx, cell)
            reused = import_cached(cache, store, ctx) if cache is not None else 0
            key = _generator_key(cfg, ctx)
            if key != current_key:
                if current is not None and current._loaded:
                    current.unload()
                current_key, current = key, None
            if current is None:
                current = _SharedGenerator(factory(cfg, ctx), cfg.model_options)
            summary = run_generate(cfg, generator=current)
            added = export_to_cache(cache, store, ctx) if cache is not None else 0
            keys = {w.key for w in ctx.plan}
            recs = [r for r in store.records("generate") if r.get("key") in keys and r.get("status") == "ok"]
            stats[cell.id] = {"run_dir": cfg.out, "planned": summary["planned"], "generated": summary["generated"],
                              "reused": reused, "already_done": summary["skipped"] - reused, "cached_now": added,
                              "made_in_cell": sum(not r.get("reused") for r in recs),
                              "from_cache": sum(bool(r.get("reused")) for r in recs), "seconds": summary.get("seconds")}
    finally:
        if current is not None and current._loaded:
            current.unload()
    return {cell.id: stats[cell.id] for cell, _, _ in planned}  # grid order


def _score_and_report(grid: Grid, out: Path, planned, stats, specs, n_boot, seed, progress, chart_style=None):
    from lensbench.runners.score import run_score

    rows: list[dict[str, Any]] = []
    headline: dict[str, str] = {}
    cells = {c.id: (c, cfg, ctx) for c, cfg, ctx in planned}
    for name, options, spec in specs:
        if not name:
            return {"scored": False, "note": f"suite {grid.suite!r} has no default scorer; add [score] scorer = NAME"}
        scored = {}
        for cid, (cell, cfg, ctx) in cells.items():
            res = run_score(cfg.out, name, options, progress=progress, trust_remote_code=cfg.trust_remote_code)
            scored[cid] = load_scored_run(cfg.out, res["scorer"])
        sc_name = res["scorer"]
        pspec = pd.spec_for(sc_name, spec)
        rows += _rows(grid, cells, scored, sc_name, pspec, n_boot, seed)
        headline[sc_name] = pspec.metric if pspec else next(
            (m["metric"] for m in scored[grid.control.id][0] if m.get("category") is None), "")
    return _write_reports(grid, out, rows, stats, headline, chart_style)


def _rows(grid: Grid, cells, scored, sc_name: str, pspec, n_boot: int, seed: int) -> list[dict[str, Any]]:
    control = grid.control.id
    c_metrics, c_records, categories = scored[control]
    c_values = pd.per_prompt(c_records, pspec) if pspec else {}
    c_lookup = {(m["metric"], m.get("category")): m["value"] for m in c_metrics}
    rows = []
    for cid, (cell, cfg, ctx) in cells.items():
        metrics, records, _ = scored[cid]
        deltas = {}
        if pspec is not None and cid != control:
            deltas = {d.category: d for d in pd.paired_deltas(pd.per_prompt(records, pspec), c_values, pspec,
                                                              categories=categories, n_boot=n_boot, seed=seed)}
        for m in metrics:
            row = {"grid": grid.name, "cell": cid, "control": cid == control, "label": cell.label(),
                   "model": ctx.settings["model"], "scorer": sc_name, "metric": m["metric"],
                   "category": m.get("category"), "value": _f(m.get("value")), "ci_low": _f(m.get("ci_low")),
                   "ci_high": _f(m.get("ci_high")), "n": m.get("n"), "unit": m.get("unit"),
                   **{a: grid.column_value(cell, a) for a in grid.axes}}
            d = deltas.get(m.get("category")) if pspec is not None and m["metric"] == pspec.metric else None
            if cid == control:
                row.update(delta=0.0, paired=pspec is not None and m["metric"] == pspec.metric)
            elif d is not None:
                row.update(delta=d.delta, delta_ci_low=d.ci_low, delta_ci_high=d.ci_high, n_pairs=d.n_pairs, paired=True)
            elif (m["metric"], m.get("category")) in c_lookup and row["value"] is not None:
                cv = _f(c_lookup[(m["metric"], m.get("category"))])
                row.update(delta=None if cv is None else row["value"] - cv, paired=False)
            rows.append(row)
    return rows


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def _write_reports(grid: Grid, out: Path, rows, stats, headline: dict[str, str],
                   chart_style: str | None = None) -> dict[str, Any]:
    columns = rp.columns_for(grid.axes)
    tables = rp.write_table(out / "results", rows, columns, rp.tidy_markdown(rows, grid.axes))
    summary = rp.summary_markdown(rows, grid.axes, stats, headline)
    write_text_atomic(out / "summary.md", f"# Ablation {grid.name}\n\n{grid.description}\n\n{summary}")
    tables.append(out / "summary.md")
    if "language" in grid.axes:
        tables += _language_table(grid, out, rows, headline)
    charts = []
    product_axes = [a for a in grid.axes if any(a in c.values and not c.explicit for c in grid.cells)]
    for sc_name, metric in headline.items():
        head = [r for r in rows if r["scorer"] == sc_name and r["metric"] == metric and r.get("category") is None
                and not next(c for c in grid.cells if c.id == r["cell"]).explicit and r["value"] is not None]
        for axis in product_axes:
            if len({r[axis] for r in head}) > 1:
                path = out / "charts" / f"{sc_name}_{metric}_vs_{axis}.png"
                others = [a for a in product_axes if a != axis]
                charts.append(rp.chart_metric_vs_axis(path, head, axis, others, metric, grid.control.id,
                                                      chart_style=chart_style))
    return {"scored": True, "rows": rows, "headline": headline, "tables": [str(p) for p in tables],
            "charts": [str(p) for p in charts], "summary_md": summary}


def _language_table(grid: Grid, out: Path, rows, headline: dict[str, str]) -> list[Path]:
    """Cells that differ from the control only in language, as one column per language."""
    ctrl = grid.control
    others = {a: grid.column_value(ctrl, a) for a in grid.axes if a != "language"}
    chosen = [c for c in grid.cells if all(grid.column_value(c, a) == v for a, v in others.items())]
    keep = {c.id: grid.column_value(c, "language") for c in chosen}
    lang_rows = [{**r, "language": keep[r["cell"]]} for r in rows if r["cell"] in keep]
    languages = list(dict.fromkeys(keep.values()))
    md = "\n".join(f"**{sc}**: {metric} per language (Δ vs {grid.column_value(ctrl, 'language')} [95% CI])\n\n"
                   + rp.language_markdown([r for r in lang_rows if r["scorer"] == sc], languages,
                                          grid.column_value(ctrl, "language"), metric)
                   for sc, metric in headline.items())
    cols = ["language", *[c for c in rp.COLUMNS if c not in ("grid", "label")]]
    return rp.write_table(out / "by_language", lang_rows, cols, md)
