"""Write the CSV files the official scripts write (``results/oneig/<dim>_score_<MODE>.csv`` and
``<dim>_prompt_score_<MODE>.csv``, plus ``style_style_score_<MODE>.csv``), so fine_grained_analysis.py and
other tools that read the official outputs can read a lensbench run. Same rows, index names and order as the
official pandas frames (per-prompt tables sorted by index, except text, which keeps text_content.csv order);
values at full precision (pandas ``to_csv`` does not round). The model column is the run's model folder.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig import similarity as sim
from lensbench.scorers.oneig import summary as sm


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    from lensbench.store.atomic import write_bytes_atomic

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write_bytes_atomic(path, buf.getvalue().encode("utf-8"))


def _cell(v: Any) -> Any:
    return "" if v is None else v


def write_official_csvs(run_dir: Path, records: Sequence[dict[str, Any]], d: dict[str, Any], suite,
                        black_grid: str = "stale") -> list[Path]:
    from lensbench.suites.oneig import model_dirname

    mode = d["lang"].upper()
    model = model_dirname(run_dir, suite.options.get("model_dir"))
    out_dir = Path(run_dir) / "results" / "oneig"
    v = sm.dimension_values(records, d, black_grid)
    recs = v["records"]
    written: list[Path] = []

    def put(name: str, header: list[str], rows: list[list[Any]]) -> None:
        p = out_dir / f"{name}_{mode}.csv"
        _write(p, header, rows)
        written.append(p)

    def rows_of(dim: str, prefix: bool) -> list[tuple[str, str, float | None]]:
        return [(r["folder"], r["oneig_id"], r[dim].get("score")) for r in recs if isinstance(r.get(dim), dict)]

    scores = sm.dimension_scores(v, __import__("numpy").arange(len(recs)), of.MAX_EDIT_DISTANCE[d["lang"]])
    if any(isinstance(r.get("alignment"), dict) for r in recs):
        table = sim.prompt_table(rows_of("alignment", True), keep_none=True)  # None -> empty cell, as official
        put("alignment_prompt_score", ["", model], [[k, _cell(val)] for k, val in table.items()])
        put("alignment_score", ["", "alignment"], [[model, _cell(scores["alignment"])]])
    if v["text_tiles"]:
        from lensbench.scorers.oneig import text as tx

        rows = [[k.split("_", 1)[1], str(tx.prompt_row(t))] for k, t in v["text_tiles"].items()]
        t = sm._text_stat(v["text"], of.MAX_EDIT_DISTANCE[d["lang"]])
        put("text_prompt_score", ["", model], rows)
        put("text_score", ["", "ED", "CR", "WAC", "text score"],
            [[model, t["ED"], t["CR"], t["WAC"], t["text score"]]] if t else [])
    if any(isinstance(r.get("reasoning"), dict) for r in recs):
        table = sim.prompt_table(rows_of("reasoning", False), prefix_class=False)
        put("reasoning_prompt_score", ["", model], [[k, val] for k, val in table.items()])
        put("reasoning_score", ["", "reasoning"], [[model, _cell(scores["reasoning"])]])
    if any(isinstance(r.get("style"), dict) for r in recs):
        table = sim.prompt_table(rows_of("style", False), prefix_class=False, keep_none=True)
        put("style_prompt_score", ["", model], [[k, _cell(val)] for k, val in table.items()])
        put("style_score", ["", "style"], [[model, _cell(scores["style"])]])
        per = sim.style_table([(r["style"].get("style"), r["style"].get("score")) for r in recs
                               if isinstance(r.get("style"), dict)])
        put("style_style_score", ["", *of.STYLE_LIST], [[model, *[_cell(per.get(s)) for s in of.STYLE_LIST]]])
    if any(isinstance(r.get("diversity"), dict) for r in recs):
        rows = rows_of("diversity", True)
        table = sim.prompt_table(rows)
        per = sim.class_means(rows)
        classes = of.DIMENSION_FOLDERS[d["lang"]]["diversity"]  # the class_items: a column each, None if empty
        put("diversity_prompt_score", ["", model], [[k, val] for k, val in table.items()])
        put("diversity_score", ["", *classes, "total average"],
            [[model, *[_cell(per.get(c)) for c in classes], _cell(sim.total_mean(table))]])
    return written
