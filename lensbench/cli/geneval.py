"""`lensbench geneval ...`: summarize an official-format results file, calibrate two detectors, export results.

Scoring itself is `lensbench score --suite geneval RUN`; this group holds GenEval-only utilities. Heavy modules
are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from lensbench.cli.common import parse_kv

geneval_app = typer.Typer(help="GenEval utilities: official summary, detector calibration, results export.",
                          no_args_is_help=True)


@geneval_app.command("summarize")
def summarize_cmd(
    results: Path = typer.Argument(..., help="results.jsonl in the official GenEval schema (any tool's)"),
    as_json: bool = typer.Option(False, "--json", help='print one JSON object {"overall", "tags", ...} instead of text'),
) -> None:
    """Summarise RESULTS exactly as the official summary_scores.py does (overall = mean of the tag accuracies)."""
    from lensbench.scorers.geneval.tools import summarize_results

    out = summarize_results(results)
    typer.echo(json.dumps(out["summary"], sort_keys=False) if as_json else out["text"])


@geneval_app.command("calibrate")
def calibrate_cmd(
    run: Path = typer.Argument(..., help="a GenEval run directory (or an official-layout image folder)"),
    backends: str = typer.Option(..., "--backends", help="two detector backends, e.g. hf-mask2former,mmdet"),
    option: list[str] = typer.Option(None, "--option", "-O", help="scorer option key=value (repeatable)"),
    geneval_metadata: str = typer.Option(None, "--geneval-metadata", help="path to evaluation_metadata.jsonl"),
    limit: int = typer.Option(None, "--limit", help="only the first N images"),
    batch_size: int = typer.Option(None, "--batch-size", help="images per batch"),
) -> None:
    """Decision agreement per tag between two detector backends on the same images."""
    from lensbench.scorers.geneval.tools import calibrate

    names = [b.strip() for b in backends.split(",") if b.strip()]
    result = calibrate(run, names, parse_kv(option, "-O"), metadata=geneval_metadata, limit=limit, batch_size=batch_size)
    a, b = names
    typer.echo(f"{'tag':<16} {'n':>5} {'agree':>7} {a + ' acc':>20} {b + ' acc':>20}")
    rows = [*result["agreement"]["tags"].items(), ("overall", result["agreement"]["overall"])]
    for tag, r in rows:
        typer.echo(f"{tag:<16} {r['n']:>5} {r['agreement']:>7.2%} {r['accuracy_a']:>20.2%} {r['accuracy_b']:>20.2%}")
    typer.echo(f"written to {Path(run) / 'results' / 'geneval_calibration.json'}")


@geneval_app.command("export")
def export_cmd(
    run: Path = typer.Argument(..., help="a scored GenEval run directory"),
    geneval_metadata: str = typer.Option(None, "--geneval-metadata", help="path to evaluation_metadata.jsonl"),
) -> None:
    """(Re)write results.jsonl in the official schema from the run's GenEval scores."""
    from lensbench.scorers.geneval.tools import export_results

    typer.echo(str(export_results(run, geneval_metadata)))


def register(app: typer.Typer) -> None:
    app.add_typer(geneval_app, name="geneval")
