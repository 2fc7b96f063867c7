"""`lensbench report` (tables + charts) and `lensbench check` (CI regression gate): thin wrappers over
lensbench.reports.build.build_report and lensbench.reports.gate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from lensbench.errors import UserError

REPORT_EPILOG = """Examples:

  lensbench report --published --out reports/published

  lensbench report runs/lt-geneval runs/zimage-geneval runs/speed-h100 --published --format md,csv --out reports/mine

  lensbench report runs/lt-geneval --published --chart-style slides --allow-partial --out reports/slides

Charts are written as PDF, SVG and PNG.

Published-vs-reproduced gives a difference only for runs that cover the whole benchmark under the official protocol; --allow-partial shows it for the others too (still marked).
"""

CHECK_EPILOG = """Examples:

  lensbench check runs/main --write-baseline ci/baseline.json

  lensbench check runs/pr --against ci/baseline.json --tolerance 0.02 --tolerance geneval:counting=5% --junit gate.xml

A baseline records the suite file's sha256 and each scorer's fingerprint; a run on another suite file or scored with other scorer settings is refused (exit 2).

Exit codes: 0 no regression, 1 regression (FAIL or MISSING), 2 bad input.
"""


def _fail(exc: UserError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


def register(app: typer.Typer) -> None:
    @app.command("report", epilog=REPORT_EPILOG)
    def report(
        runs: Optional[list[Path]] = typer.Argument(None, help="Run directories (quality and/or speed runs)."),
        published: bool = typer.Option(False, "--published", help="Add published baselines (alone: the published report)."),
        format: str = typer.Option("md,csv,latex,html", "--format", "-f", help="Comma-separated: md, csv, latex, html."),
        out: Optional[Path] = typer.Option(None, "--out", "-o",
                                           help="Output directory (default: reports/published, or reports/latest with runs)."),
        baselines: Optional[Path] = typer.Option(None, "--baselines", help="Directory of baseline TOML files "
                                                 "(default: $LENSBENCH_BASELINES or the baselines shipped with lensbench)."),
        no_charts: bool = typer.Option(False, "--no-charts", help="Tables only (no matplotlib needed)."),
        contact_prompts: int = typer.Option(6, "--contact-prompts", help="Prompts per contact sheet (0: none)."),
        chart_style: str = typer.Option("paper", "--chart-style", help="paper (7 in wide, print fonts) | slides."),
        allow_partial: bool = typer.Option(False, "--allow-partial", help="Show differences for partial, off-protocol "
                                           "or unknown-coverage runs too (still marked)."),
    ) -> None:
        """Tables (with CIs) and charts from runs and/or published baselines."""
        from lensbench.reports.build import build_report

        run_dirs = list(runs or [])
        target = out or Path("reports/published" if not run_dirs else "reports/latest")
        try:
            paths = build_report(run_dirs, target, format, published=published, baselines_dir=baselines,
                                 charts=not no_charts, contact_prompts=contact_prompts, chart_style=chart_style,
                                 allow_partial=allow_partial)
        except UserError as exc:
            _fail(exc)
        n_tables = sum(1 for p in paths if p.parent.name == "tables")
        n_charts = sum(1 for p in paths if p.parent.name == "charts")
        typer.echo(f"wrote {n_tables} table files and {n_charts} chart files; index: {target / 'README.md'}")

    @app.command("check", epilog=CHECK_EPILOG)
    def check(
        run: Path = typer.Argument(..., help="The run to check (results/*.json and/or speed/measurements.csv)."),
        against: Optional[Path] = typer.Option(None, "--against", help="Baseline JSON (from --write-baseline) or a run directory."),
        tolerance: Optional[list[str]] = typer.Option(None, "--tolerance", "-t", help="Relative quality drop allowed: "
                                                      "0.02 or 2% (default 2%); per metric: geneval=0.01, geneval:counting=5%."),
        latency_ratio: float = typer.Option(1.2, "--latency-ratio", help="Latency fails when current/baseline exceeds this."),
        latency_stat: str = typer.Option("latency_p50_s", "--latency-stat", help="latency_p50_s | latency_mean_s | latency_p90_s."),
        memory_ratio: Optional[float] = typer.Option(None, "--memory-ratio", help="Also gate peak allocated memory by this ratio."),
        allow_missing: bool = typer.Option(False, "--allow-missing", help="Baseline entries absent from the run are skipped, not failed."),
        junit: Optional[Path] = typer.Option(None, "--junit", help="Also write JUnit XML here (for CI dashboards)."),
        write_baseline: Optional[Path] = typer.Option(None, "--write-baseline", help="Write RUN's numbers as a baseline file."),
    ) -> None:
        """Noise-aware regression gate: compare RUN with a baseline; exit 1 on regression."""
        from lensbench.reports import gate
        from lensbench.reports.tables import to_text

        try:
            if against is None and write_baseline is None:
                raise UserError("give --against BASELINE to check, or --write-baseline FILE to record one")
            tol = gate.parse_tolerances(tolerance, latency_ratio=latency_ratio, latency_stat=latency_stat,
                                        memory_ratio=memory_ratio, allow_missing=allow_missing)
            result = None
            if against is not None:
                result = gate.check_run(run, gate.load_gate_baseline(against), tol)
            if write_baseline is not None:
                p = gate.write_baseline(run, write_baseline)
                typer.echo(f"baseline written: {p}")
            if result is None:
                return
            typer.echo(to_text(gate.gate_table(result)), nl=False)
            for note in result.settings.get("notes") or []:
                typer.echo(f"note: {note}")
            if junit is not None:
                gate.write_junit(result, junit)
        except UserError as exc:
            _fail(exc)
        counts = ", ".join(f"{v} {k}" for k, v in result.counts().items())
        verdict = "REGRESSION" if result.failed else "OK"
        typer.echo(f"\n{verdict}: {counts} (quality tolerance {tol.quality:.1%}, latency ratio ×{tol.latency_ratio:.2f})")
        sys.stdout.flush()
        if result.failed:
            raise typer.Exit(1)
