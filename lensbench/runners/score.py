"""The score runner: generation records → scorer units → per-unit records (resumable) → results/<scorer>.json.

Python API: ``run_score(run_dir, "geneval", {...})``; the CLI calls exactly this. Scoring never touches
generation: a crash here never regenerates an image, and re-running scores only what is missing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lensbench.dist import DistContext
from lensbench.errors import UserError
from lensbench.runners.progress import progress_bar
from lensbench.scorers import SCORERS
from lensbench.scorers.base import Scorer
from lensbench.store import manifest as mf
from lensbench.store.atomic import write_json_atomic
from lensbench.store.results import SCHEMA_VERSION
from lensbench.store.run_store import RunStore
from lensbench.suites import load_suite


def make_scorer(name: str, options: dict[str, Any] | None = None) -> Scorer:
    return SCORERS.get(name)(dict(options or {}))


def _suite_and_records(store: RunStore, scorer: Scorer):
    manifest = store.read_manifest()
    if manifest is None:
        discover = getattr(scorer, "discover", None)
        if discover is None:
            raise UserError(f"{store.run_dir} has no manifest.json and scorer {scorer.name!r} cannot read foreign "
                            "folders; pass a run directory made by `lensbench generate`")
        suite, records = discover(store.run_dir)
        return manifest, suite, records
    s = manifest["suite"]
    suite = load_suite(s["name"], s.get("source"), s.get("options") or {})
    return manifest, suite, store.records("generate")


def default_scorer_for(run_dir: str | Path, suite_name: str | None) -> str:
    """`--suite X` picks the scorer registered as X; otherwise the run's suite's default scorer."""
    if suite_name and suite_name in SCORERS:
        return suite_name
    if suite_name is None:
        manifest = RunStore(run_dir).read_manifest()
        suite_name = manifest["suite"]["name"] if manifest else None
        if suite_name in SCORERS:
            return suite_name
    raise UserError(f"no scorer for suite {suite_name!r}; pass --scorer NAME (known: {', '.join(SCORERS.names()) or 'none'})")


def run_score(run_dir: str | Path, scorer: str | None = None, scorer_options: dict[str, Any] | None = None, *,
              batch_size: int | None = None, limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Score every unit of the run not scored yet; aggregate all records into results/<scorer>.json."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; generate first or check the path")
    name = scorer or default_scorer_for(run_dir, None)
    sc = make_scorer(name, scorer_options)
    dist = DistContext.from_env()
    store = RunStore(run_dir, rank=dist.rank, world_size=dist.world_size)
    stream = f"score.{sc.name}"
    t0 = time.perf_counter()
    with store.locked():
        manifest, suite, gen_records = _suite_and_records(store, sc)
        units = sc.units(suite, gen_records)
        if limit:
            units = units[:limit]
        done = store.done_keys(stream)
        mine = units[dist.rank :: dist.world_size]
        todo = [u for u in mine if u.key not in done]
        bs = batch_size or sc.batch_size
        if todo:
            sc.load()
            with progress_bar(f"score {sc.name}", len(todo), progress and dist.is_main) as bar:
                for i in range(0, len(todo), bs):
                    batch = todo[i : i + bs]
                    for unit, rec in zip(batch, sc.score_batch(run_dir, batch), strict=True):
                        rec = {"key": unit.key, "status": "ok", **rec}
                        store.append(stream, rec)
                        bar.advance()
        results = None
        if dist.is_main:
            unit_keys = {u.key for u in units}
            records = [r for r in store.records(stream) if r.get("key") in unit_keys and r.get("status") == "ok"]
            metrics = sc.summarize(records, suite)
            results = {
                "schema_version": SCHEMA_VERSION,
                "run_id": (manifest or {}).get("run_id", run_dir.name),
                "suite": suite.describe(),
                "scorer": sc.name,
                "scorer_version": sc.version,
                "settings": sc.settings(),
                "model": (manifest or {}).get("model", {"name": "external"}),
                "generation": (manifest or {}).get("generation"),
                "created": mf.utc_now(),
                "n_units": len(units),
                "n_scored": len(records),
                "metrics": [m.to_dict() for m in metrics],
            }
            write_json_atomic(store.result_path(sc.name), results)
    return {"run_dir": str(run_dir), "scorer": sc.name, "units": len(units), "scored_now": len(todo),
            "seconds": round(time.perf_counter() - t0, 3), "results": results}
