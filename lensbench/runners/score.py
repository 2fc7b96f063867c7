"""The score runner: generation records → scorer units → per-unit records (resumable) → results/<scorer>.json.

Python API: ``run_score(run_dir, "geneval", {...})``; the CLI calls exactly this. Scoring never touches
generation: a crash here never regenerates an image, and re-running scores only what is missing.

Every per-unit record carries the scorer's fingerprint (and its ``fingerprint_id``). A record is reused only by
a scorer with the same fingerprint; other settings score into their own record set in the same stream, and
results aggregate exactly one fingerprint's records (`lensbench.store.results.score_records`). Before scoring,
each image is checked against the sha256 its generation record committed.
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
from lensbench.scorers import SCORERS, make_scorer
from lensbench.scorers.base import Scorer
from lensbench.store import manifest as mf
from lensbench.scorers.coverage import build_coverage
from lensbench.store.integrity import quick_check, record_problem
from lensbench.store.results import RunResults, fingerprint_id, score_records, score_stream, write_results
from lensbench.store.run_store import RunStore
from lensbench.suites import load_recorded_suite

EVENTS = "events"


def _refuse_without_suite(run_dir, manifest) -> None:
    if manifest and "suite" not in manifest:  # a `lensbench speed` run: timings, no images to score
        raise UserError(f"{run_dir} is a {manifest.get('kind') or 'non-generate'} run (no suite, no images); "
                        "score a run made by `lensbench generate`")


def _suite_and_records(store: RunStore, scorer: Scorer):
    manifest = store.read_manifest()
    if manifest is None:
        suite, records = scorer.discover(store.run_dir)
        return manifest, suite, records
    _refuse_without_suite(store.run_dir, manifest)
    s = manifest["suite"]
    suite = load_recorded_suite(s)
    return manifest, suite, store.records("generate")


def default_scorer_for(run_dir: str | Path, suite_name: str | None) -> str:
    """`--suite X` picks the scorer registered as X; otherwise the run's suite's default scorer."""
    if suite_name and suite_name in SCORERS:
        return suite_name
    if suite_name is None:
        manifest = RunStore(run_dir).read_manifest()
        _refuse_without_suite(run_dir, manifest)
        suite_name = manifest["suite"]["name"] if manifest else None
        if suite_name in SCORERS:
            return suite_name
    raise UserError(f"no scorer for suite {suite_name!r}; pass --scorer NAME (known: {', '.join(SCORERS.names()) or 'none'})")


def store_path(run_dir: Path, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else run_dir / p


def _check_images(run_dir: Path, units, gen_records) -> None:
    """Every image about to be scored is the one its generation record committed (size, PNG ends, sha256); an
    image without a record (a grid, another tool's folder) gets the quick check. Else say how to repair."""
    by_key = {r.get("key"): r for r in gen_records if r.get("status") == "ok"}
    bad, swapped = [], []
    for u in units:
        rec = by_key.get(u.key)
        if rec is not None and rec.get("sha256"):
            problem = record_problem(run_dir, rec, verify=True)
            if problem:  # a complete PNG that is not the committed one was swapped in; else it is damaged
                whole = quick_check(store_path(run_dir, rec["image"])) is None
                (swapped if whole else bad).append((rec["image"], problem))
            continue
        for rel in u.images:
            problem = quick_check(store_path(run_dir, rel))
            if problem:
                bad.append((rel, problem))
    if bad:
        raise UserError(f"{len(bad)} image(s) to score are missing or damaged (e.g. {bad[0][0]}: {bad[0][1]}); re-run "
                        "`lensbench generate` with the same settings to regenerate them, then score again")
    if swapped:
        raise UserError(f"{len(swapped)} image(s) to score are not the ones their records committed (e.g. {swapped[0][0]}: "
                        f"sha256 differs); run `lensbench verify --fix {run_dir}` to regenerate them, then score again")


def run_score(run_dir: str | Path, scorer: str | None = None, scorer_options: dict[str, Any] | None = None, *,
              batch_size: int | None = None, limit: int | None = None, progress: bool = True,
              trust_remote_code: bool = False) -> dict[str, Any]:
    """Score every unit of the run not scored yet; aggregate all records into results/<scorer>.json.

    Units are cut into fixed batches of `batch_size` from the whole unit list and dealt round robin to the
    ranks (torchrun); rank 0 aggregates once every rank's records are in. On CUDA OOM a batch is halved.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; generate first or check the path")
    name = scorer or default_scorer_for(run_dir, None)
    sc = make_scorer(name, scorer_options, trust_remote_code=trust_remote_code)
    dist = DistContext.from_env()
    dist.bind_device()  # scorer backends that say "cuda" use this rank's GPU
    store = RunStore(run_dir, rank=dist.rank, world_size=dist.world_size)
    stream = score_stream(sc.name)
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
        fp = sc.fingerprint()  # after units(): a scorer may read its data files (DPG's CSV) there
        fp_id = fingerprint_id(fp)

        def ok_records() -> list[dict[str, Any]]:  # this fingerprint's successful records, from every rank
            return [r for r in score_records(store, sc.name, fp_id) if r.get("status") == "ok"]

        done = {r["key"] for r in ok_records()}
        batches = [units[i : i + bs] for i in range(0, len(units), bs)]
        todo = [b for b in shard(batches, dist.rank, dist.world_size) if any(u.key not in done for u in b)]
        coord = Coordinator(run_dir, stream, dist) if dist.world_size > 1 else None
        if coord is not None:
            coord.start()
        try:
            if todo:
                _check_images(run_dir, [u for b in todo for u in b if u.key not in done], gen_records)
                scored_now = _score_batches(store, sc, stream, todo, done, progress and dist.is_main,
                                            {"fingerprint": fp, "fingerprint_id": fp_id})
            if coord is not None and dist.is_main:
                keys = {u.key for u in units}

                def count() -> tuple[int, int]:
                    return len({r["key"] for r in ok_records()} & keys), len(keys)

                coord.wait_for_others(count, "units")
        except BaseException as exc:
            if coord is not None:
                coord.finish("failed", error=str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
            raise
        if coord is not None:
            coord.finish("done", scored=scored_now)
        results = None
        if dist.is_main:
            unit_keys = {u.key for u in units}
            records = [r for r in ok_records() if r["key"] in unit_keys]
            metrics = sc.summarize(records, suite)
            res = RunResults(
                run_id=(manifest or {}).get("run_id", run_dir.name), scorer=sc.name, metrics=list(metrics),
                suite=suite.describe(), scorer_version=sc.version, settings=sc.settings(),
                model=(manifest or {}).get("model", {"name": "external"}), generation=(manifest or {}).get("generation"),
                created=mf.utc_now(), n_units=len(units), n_scored=len(records), fingerprint=fp, fingerprint_id=fp_id,
                coverage=build_coverage(sc, suite, units, {r["key"] for r in records}, manifest))
            oom = summarize_events([e for e in store.records(EVENTS) if e.get("stage") == stream])
            if oom:
                res.extra = {"oom_backoff": oom}
            write_results(store.result_path(sc.name), res)
            sc.finalize(run_dir, records, suite)  # scorer-specific outputs, e.g. GenEval's official results.jsonl
            results = res.to_dict()
    return {"run_dir": str(run_dir), "scorer": sc.name, "fingerprint_id": fp_id, "units": len(units), "scored_now": scored_now,
            "seconds": round(time.perf_counter() - t0, 3), "results": results, "world_size": dist.world_size}


def _score_batches(store: RunStore, sc: Scorer, stream: str, todo, done: set[str], show: bool,
                   stamp: dict[str, Any]) -> int:
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
                    rec = {"key": unit.key, "status": "ok", **rec, **stamp}
                    if len(chunk) < len(batch):
                        rec["oom_batch_size"] = len(chunk)
                    store.append(stream, rec)
                    done.add(unit.key)
                    n += 1
                    bar.advance()
    return n
