"""`lensbench dpg ...`: DPG-Bench data utilities (fetch the pinned upstream files, check a question CSV).

Generation and scoring are `lensbench generate --suite dpg` and `lensbench score --suite dpg RUN`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

dpg_app = typer.Typer(help="DPG-Bench utilities: fetch the pinned upstream data, check a question CSV.", no_args_is_help=True)


@dpg_app.command("fetch")
def fetch_cmd(
    dest: Path = typer.Option(None, "--dest", help="target folder (default: ${LENSBENCH_CACHE:-~/.cache/lensbench}/data/dpg)"),
) -> None:
    """Download prompts + dpg_bench.csv from the pinned upstream commit, verify them, and cache them."""
    from lensbench.suites import dpg_data

    record = dpg_data.fetch_dpg_data(dest)
    typer.echo(json.dumps({"dest": str(dest or dpg_data.data_dir()), **record}, indent=2))


@dpg_app.command("check-csv")
def check_csv_cmd(
    csv: Path = typer.Argument(..., help="a question CSV of the official schema (dpg_bench.csv)"),
    keep_first_row: bool = typer.Option(False, "--keep-first-row", help="corrected mode: do not drop CSV row 0"),
) -> None:
    """Parse CSV exactly as the official scorer does and print what it holds (items, questions, categories)."""
    from lensbench.suites.dpg_data import file_sha256
    from lensbench.scorers.dpg.questions import read_question_csv

    table = read_question_csv(csv, skip_first_row=not keep_first_row)
    l1 = Counter(q.category_l1 for qs in table.items.values() for q in qs.values())
    out = {"csv": str(csv), "sha256": file_sha256(csv), "skip_first_row": table.skip_first_row,
           "items": len(table), "questions": table.n_questions, "l1_questions": dict(sorted(l1.items())),
           "dropped_row": table.dropped_row, "notes": table.notes}  # fmt: skip
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.add_typer(dpg_app, name="dpg")
