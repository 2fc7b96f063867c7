"""The score runner: generation records → scorer units → per-unit records (resumable) → results/<scorer>.json.

Python API: ``run_score(run_dir, "geneval", {...})``; the CLI calls exactly this. Scoring never touches
generation: a crash here never regenerates an image, and re-running scores only what is missing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lensbench.dist import Coordinator, DistContext
from lensbench.errors import UserError
from lensbench.runners.oom import Backoff, summarize_events
from lensbench.runners.plan import shard
from lensbench.runners.progress import progress_bar
from lensbench.scorers import SCORERS
from lensbench.scorers.base import Scorer
from lensbench.store import manifest as mf
from lensbench.store.atomic import write_json_atomic
from lensbench.store.integrity import quick_check
from lensbench.store.results import SCHEMA_VERSION
from lensbench.store.run_store import RunStore
from lensbench.suites import load_suite

EVENTS = "events"


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


def _check_images(run_dir: Path, units) -> None:
    """Every image about to be scored exists and is complete (quick check); else say how to repair."""
    bad = []
    for u in units:
        for rel in u.images:
            p = Path(rel)
            problem = quick_check(p if p.is_absolute() else run_dir / p)
            if problem:
                bad.append((rel, problem))
    if bad:
        raise UserError(f"{len(bad)} image(s) to score are missing or damaged (e.g. {bad[0][0]}: {bad[0][1]}); re-run "
                        "`lensbench generate` with the same settings to regenerate them, then score again")


def run_score(run_dir: str | Path, scorer: str | None = None, scorer_options: dict[str, Any] | None = None, *,
              batch_size: int | None = None, limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Score every unit of the run not scored yet; aggregate all records into results/<scorer>.json.

    Units are cut into fixed batches of `batch_size` from the whole unit list and dealt round robin to the
    ranks (torchrun); rank 0 aggregates once every rank's records are in. On CUDA OOM a batch is halved.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; generate first or check the path")
    name = scorer or default_scorer_for(run_dir, None)
    sc = make_scorer(name, scorer_options)
    dist = DistContext.from_env()
    dist.bind_device()  # scorer backends that say "cuda" use this rank's GPU
    store = RunStore(run_dir, rank=dist.rank, world_size=dist.world_size)
    stream = f"score.{sc.name}"
    bs = sc.batch_size if batch_size is None else batch_size
    if bs < 1:
        raise UserError(f"--batch-size must be at least 1, got {bs}")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    t0 = time.perf_counter()
    scored_now = 0
    with store.locked():
        manifest, suite, gen_records = _suite_and_records(store, sc)
        units = sc.units(suite, gen_records)
        if limit:
            units = units[:limit]
        done = store.done_keys(stream)
        batches = [units[i : i + bs] for i in range(0, len(units), bs)]
        todo = [b for b in shard(batches, dist.rank, dist.world_size) if any(u.key not in done for u in b)]
        coord = Coordinator(run_dir, stream, dist) if dist.world_size > 1 else None
        if coord is not None:
            coord.start()
        try:
            if todo:
                _check_images(run_dir, [u for b in todo for u in b if u.key not in done])
                scored_now = _score_batches(store, sc, stream, todo, done, progress and dist.is_main)
            if coord is not None and dist.is_main:
                keys = {u.key for u in units}
                coord.wait_for_others(lambda: (len(store.done_keys(stream) & keys), len(keys)), "units")
        except BaseException as exc:
            if coord is not None:
                coord.finish("failed", error=str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
            raise
        if coord is not None:
            coord.finish("done", scored=scored_now)
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
            oom = summarize_events([e for e in store.records(EVENTS) if e.get("stage") == stream])
            if oom:
                results["extra"] = {"oom_backoff": oom}
            write_json_atomic(store.result_path(sc.name), results)
            finalize = getattr(sc, "finalize", None)
            if finalize is not None:  # scorer-specific outputs, e.g. GenEval's official results.jsonl
                finalize(run_dir, records, suite)
    return {"run_dir": str(run_dir), "scorer": sc.name, "units": len(units), "scored_now": scored_now,
            "seconds": round(time.perf_counter() - t0, 3), "results": results, "world_size": dist.world_size}


def _score_batches(store: RunStore, sc: Scorer, stream: str, todo, done: set[str], show: bool) -> int:
    def on_event(event: dict[str, Any]) -> None:
        store.append(EVENTS, {**event, "stage": stream, "rank": store.rank, "time": mf.utc_now()})

    backoff = Backoff(f"scoring with {sc.name}", "pass a smaller --batch-size, or -O device=cpu", on_event)

    def call(chunk):
        if all(u.key in done for u in chunk):
            return None  # a back-off piece holding only scored units
        return sc.score_batch(store.run_dir, chunk)

    sc.load()
    n = 0
    with progress_bar(f"score {sc.name}", sum(u.key not in done for b in todo for u in b), show) as bar:
        for batch in todo:
            for chunk, recs in backoff.run(batch, call):
                if recs is None:
                    continue
                for unit, rec in zip(chunk, recs, strict=True):
                    if unit.key in done:
                        continue  # scored again only because its batch-mates were missing
                    rec = {"key": unit.key, "status": "ok", **rec}
                    if len(chunk) < len(batch):
                        rec["oom_batch_size"] = len(chunk)
                    store.append(stream, rec)
                    done.add(unit.key)
                    n += 1
                    bar.advance()
    return n
