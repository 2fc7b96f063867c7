"""GenEval Python API behind `lensbench geneval ...`: summarise a results file, export results.jsonl, calibrate.

`calibrate` scores the same images with two detector backends (sharing one colour classifier) and reports, per
tag, how often their pass/fail decisions agree - for users who have both the default HF detector and the official
mmdet one installed and want to know how far lensbench's default is from the official scorer on their images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.store.atomic import write_json_atomic
from lensbench.store.results import read_results
from lensbench.store.results import score_records as stored_records
from lensbench.store.run_store import RunStore
from lensbench.suites.base import Suite


def summarize_results(path: str | Path) -> dict[str, Any]:
    """Official summary of any official-format results.jsonl, plus lensbench CIs: {"text", "summary", "metrics"}."""
    from lensbench.scorers.geneval.summary import format_official, lensbench_metrics, official_summary, read_results, summary_dict

    rows = read_results(path)
    s = official_summary(rows)
    metrics = lensbench_metrics(rows, prompt_key="metadata")
    return {"text": format_official(s), "summary": summary_dict(s, metrics), "metrics": metrics}


def load_run(run_dir: str | Path, metadata: str | None = None) -> tuple[Suite, list[dict[str, Any]]]:
    """The suite and generation records of a lensbench run, or of an official-layout folder from another tool."""
    from lensbench.scorers.geneval.scorer import discover_official_layout
    from lensbench.suites import load_recorded_suite, load_suite

    run = Path(run_dir)
    if not run.is_dir():
        raise UserError(f"run directory {run} does not exist; pass a lensbench run or a GenEval image folder")
    store = RunStore(run)
    manifest = store.read_manifest()
    if manifest is None:
        return discover_official_layout(run)
    desc = manifest.get("suite") or {}
    if desc.get("name") != "geneval":
        raise UserError(f"{run} is a {desc.get('name')!r} run, not a GenEval run; pass a run made with --suite geneval")
    if metadata:  # the user points at the metadata file (e.g. moved since the run was generated)
        suite = load_suite("geneval", None, {**dict(desc.get("options") or {}), "metadata": metadata})
    else:
        suite = load_recorded_suite(desc)
    return suite, store.records("generate")


def score_records(scorer, suite: Suite, gen_records: Sequence[dict[str, Any]], run_dir: Path, *,
                  limit: int | None = None, batch_size: int | None = None) -> list[dict[str, Any]]:
    """Score without writing anything (used by calibrate)."""
    units = scorer.units(suite, gen_records)[:limit]
    scorer.load()
    step = batch_size or scorer.batch_size
    out: list[dict[str, Any]] = []
    for s in range(0, len(units), step):
        out.extend(scorer.score_batch(run_dir, units[s:s + step]))
    return out


def agreement(records_a: Sequence[Mapping[str, Any]], records_b: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per tag and overall: images compared, decision agreement, each side's accuracy, and disagreement counts."""
    b_by_key = {r["key"]: r for r in records_b}
    tags: dict[str, dict[str, int]] = {}
    for ra in records_a:
        rb = b_by_key.get(ra["key"])
        if rb is None:
            continue
        t = tags.setdefault(ra["tag"], {"n": 0, "agree": 0, "a_correct": 0, "b_correct": 0, "only_a": 0, "only_b": 0})
        a, b = bool(ra["correct"]), bool(rb["correct"])
        t["n"] += 1
        t["agree"] += a == b
        t["a_correct"] += a
        t["b_correct"] += b
        t["only_a"] += a and not b
        t["only_b"] += b and not a
    if not tags:
        raise UserError("the two backends scored no image in common; nothing to compare")

    def rates(c: Mapping[str, int]) -> dict[str, Any]:
        return {"n": c["n"], "agreement": c["agree"] / c["n"], "accuracy_a": c["a_correct"] / c["n"],
                "accuracy_b": c["b_correct"] / c["n"], "only_a_correct": c["only_a"], "only_b_correct": c["only_b"]}

    total = {k: sum(t[k] for t in tags.values()) for k in ("n", "agree", "a_correct", "b_correct", "only_a", "only_b")}
    return {"tags": {t: rates(c) for t, c in tags.items()}, "overall": rates(total)}


def _for_detector(options: Mapping[str, Any], backend: str) -> dict[str, Any]:
    """The shared options minus those only other detector backends declare (calibrate runs two backends)."""
    from lensbench.options import option_names
    from lensbench.scorers.geneval.detector import DETECTORS

    own = set(option_names(DETECTORS.get(backend).Options))
    others = {k for n in DETECTORS.names() for k in option_names(DETECTORS.get(n).Options)} - own
    return {k: v for k, v in options.items() if k not in others}


def calibrate(run_dir: str | Path, backends: Sequence[str], options: Mapping[str, Any] | None = None, *,
              metadata: str | None = None, limit: int | None = None, batch_size: int | None = None,
              write: bool = True) -> dict[str, Any]:
    """Decision agreement between two detector backends on the same images; written to results/geneval_calibration.json."""
    from lensbench.scorers.geneval.scorer import GenEvalScorer

    if len(backends) != 2:
        raise UserError(f"--backends needs exactly two detector backends separated by a comma, got {','.join(backends)!r}")
    run = Path(run_dir)
    suite, gen = load_run(run, metadata)
    options = {k: v for k, v in dict(options or {}).items() if k != "detector"}
    first = GenEvalScorer({**_for_detector(options, backends[0]), "detector": backends[0], "results": "0"})
    second = GenEvalScorer({**_for_detector(options, backends[1]), "detector": backends[1], "results": "0"},
                           color_classifier=first.color_classifier)
    recs = [score_records(sc, suite, gen, run, limit=limit, batch_size=batch_size) for sc in (first, second)]
    result = {"backends": list(backends), "n_images": len(recs[0]), "agreement": agreement(*recs),
              "settings": {backends[0]: first.settings(), backends[1]: second.settings()}}
    if write:
        write_json_atomic(run / "results" / "geneval_calibration.json", result)
    return result


def export_results(run_dir: str | Path, metadata: str | None = None) -> Path:
    """(Re)write results.jsonl in the official schema from the ``score.geneval`` records behind the run's
    results/geneval.json (the same scorer fingerprint; never records made with other settings)."""
    from lensbench.scorers.geneval.scorer import write_official_results

    run = Path(run_dir)
    suite, _ = load_run(run, metadata)
    store = RunStore(run)
    fp_id = read_results(store.result_path("geneval")).fingerprint_id if store.result_path("geneval").is_file() else None
    records = [r for r in stored_records(store, "geneval", fp_id) if r.get("status", "ok") == "ok" and "correct" in r]
    if not records:
        raise UserError(f"{run} has no GenEval scores yet; run `lensbench score --suite geneval {run}` first")
    return write_official_results(run, records, suite)
