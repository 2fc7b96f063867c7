"""`lensbench export`: a thin wrapper over lensbench.reports.export.export_runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lensbench.errors import UserError

EPILOG = """Examples:

  lensbench export runs/lt-geneval runs/zi-geneval --out results.parquet

  lensbench export runs/* --out results.csv --force

  lensbench export runs/lt-geneval --published --out with-published.parquet

One row per run × metric × category: value, ci_low, ci_high (numbers), n, coverage, protocol, model, weights
identity, settings hash, scorer fingerprint and provenance. Read it with pandas.read_parquet("results.parquet").
"""


def register(app: typer.Typer) -> None:
    @app.command("export", epilog=EPILOG)
    def export(
        runs: Optional[list[Path]] = typer.Argument(None, help="Run directories (quality and/or speed runs)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output file: .parquet, .csv or .jsonl."),
        force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
        published: bool = typer.Option(False, "--published", help="Add every published baseline value as rows of "
                                       "kind 'published' (with source, measured_by and protocol)."),
        baselines: Optional[Path] = typer.Option(None, "--baselines", help="Directory of baseline TOML files."),
    ) -> None:
        """Every number of the runs as one tidy table (parquet, CSV or JSONL) for pandas, R or a spreadsheet."""
        from lensbench.reports.export import export_runs

        try:
            path, n = export_runs(list(runs or []), out, force=force, published=published, baselines_dir=baselines)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        typer.echo(f"wrote {n} rows to {path}")
