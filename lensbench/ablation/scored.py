"""Read scored runs back (results, per-unit records, item categories) and build the per-language table.

`language_table({"en": "runs/en", "zh": "runs/zh", ...})` is the helper for runs made outside an ablation
(``lensbench generate --suite geneval -S language=zh`` + ``lensbench score``); ablations with a language axis write
the same table as ``by_language.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lensbench.ablation import paired as pd
from lensbench.ablation import report as rp
from lensbench.errors import UserError
from lensbench.store.results import read_results, score_records
from lensbench.store.run_store import RunStore


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def load_scored_run(run_dir: str | Path, scorer: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(metrics of results/<scorer>.json, the ok per-unit records behind exactly those results (same scorer
    fingerprint), item id -> category) of a scored run."""
    from lensbench.suites import load_recorded_suite

    store = RunStore(run_dir)
    path = store.result_path(scorer)
    if not path.is_file():
        raise UserError(f"{run_dir} has no results/{scorer}.json; run `lensbench score {run_dir} --scorer {scorer}` first")
    results = read_results(path)
    records = [r for r in score_records(store, scorer, results.fingerprint_id) if r.get("status", "ok") == "ok"]
    categories: dict[str, Any] = {}
    manifest = store.read_manifest()
    if manifest is not None:
        suite = load_recorded_suite(manifest["suite"])
        categories = {it.id: it.category for it in suite.items()}
    elif results.suite:
        categories = {str(r["item_id"]): r.get("tag") or r.get("category") for r in records if "item_id" in r}
    return [m.to_dict() for m in results.metrics], records, categories


def language_table(runs: dict[str, str | Path], *, scorer: str = "geneval", control: str = "en",
                   paired: dict[str, Any] | None = None, n_boot: int = 2000,
                   seed: int = 0) -> tuple[list[dict[str, Any]], str]:
    """The per-language table from scored runs ({language: run_dir}, e.g. made with ``-S language=zh``): every
    metric per language, and for the scorer's headline metric the paired delta vs `control` with its 95% CI.
    `paired` takes the grid's paired_* keys for scorers without a built-in spec. Returns (rows, markdown)."""
    if control not in runs:
        raise UserError(f"language_table needs the control language {control!r} among the runs ({', '.join(runs)})")
    pspec = pd.spec_for(scorer, paired)
    loaded = {lang: load_scored_run(d, scorer) for lang, d in runs.items()}
    c_metrics, c_records, categories = loaded[control]
    c_values = pd.per_prompt(c_records, pspec) if pspec else {}
    rows = []
    for lang, (metrics, records, _) in loaded.items():
        deltas = {} if pspec is None or lang == control else {
            d.category: d for d in pd.paired_deltas(pd.per_prompt(records, pspec), c_values, pspec,
                                                    categories=categories, n_boot=n_boot, seed=seed)}
        for m in metrics:
            d = deltas.get(m.get("category")) if pspec and m["metric"] == pspec.metric else None
            rows.append({"language": lang, "run_dir": str(runs[lang]), "scorer": scorer, "metric": m["metric"],
                         "category": m.get("category"), "value": _f(m.get("value")), "ci_low": _f(m.get("ci_low")),
                         "ci_high": _f(m.get("ci_high")), "n": m.get("n"), "delta": d.delta if d else None,
                         "delta_ci_low": d.ci_low if d else None, "delta_ci_high": d.ci_high if d else None,
                         "n_pairs": d.n_pairs if d else None})
    metric = pspec.metric if pspec else rows[0]["metric"]
    return rows, rp.language_markdown(rows, list(runs), control, metric)
