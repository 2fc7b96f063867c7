"""`lensbench ablate GRID`: a thin wrapper over lensbench.runners.ablate.run_ablation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lensbench.cli.common import echo_json, parse_kv

EPILOG = """Examples:

  lensbench ablate suites/ablations/tiny.toml -S metadata=evaluation_metadata.jsonl --out runs/abl-tiny

  lensbench ablate suites/ablations/lens_steps_cfg.toml --dry-run

  lensbench ablate suites/ablations/language_sweep.toml -S metadata=evaluation_metadata.jsonl -O device=cuda
"""


def _print_plan(plan: dict) -> None:
    typer.echo(f"ablation {plan['grid']} -> {plan['out']} (image cache: {plan['cache'] or 'off'})")
    header = ("cell", "model", "size", "steps", "guidance", "rewriter", "planned", "done", "cached", "to generate")
    rows = [(r["cell"] + (" *" if r["control"] else ""), r["model"], r["size"], str(r["steps"]), f"{r['guidance']:g}",
             str(r["rewriter"]), str(r["planned"]), str(r["done"]), str(r["cached"]), str(r["to_generate"]))
            for r in plan["cells"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in (header, *rows):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    t = plan["totals"]
    typer.echo(f"{len(rows)} cells (* = control): {t['planned']} images planned, {t['done']} done in the cell "
               f"directories, {t['cached']} reusable from the cache, {t['to_generate']} to generate")


def register(app: typer.Typer) -> None:
    @app.command("ablate", epilog=EPILOG)
    def ablate(
        grid: Path = typer.Argument(..., help="Ablation grid file (TOML), e.g. suites/ablations/tiny.toml."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: runs/ablations/<grid name>)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the expanded cells and how much is cached, then exit."),
        suite_option: Optional[list[str]] = typer.Option(None, "--suite-option", "-S", help="Suite option KEY=VALUE for every cell (e.g. metadata=PATH)."),
        option: Optional[list[str]] = typer.Option(None, "--option", "-O", help="Scorer option KEY=VALUE (added to the grid's)."),
        scorer: Optional[str] = typer.Option(None, "--scorer", help="Score with this scorer instead of the grid's."),
        cache: Optional[Path] = typer.Option(None, "--cache", help="Image cache directory (default: $LENSBENCH_CACHE/images)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse or add images across cells and runs."),
        no_score: bool = typer.Option(False, "--no-score", help="Generate only."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N prompts of every cell (a quick look)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result (or plan) as JSON."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
    ) -> None:
        """Run an ablation grid: one run per cell, shared image cache, scores, paired deltas vs the control, charts."""
        from lensbench.runners.ablate import run_ablation

        result = run_ablation(grid, out, dry_run=dry_run, suite_options=parse_kv(suite_option, "--suite-option") or None,
                              cache_dir=cache, use_cache=False if no_cache else None, score=not no_score, scorer=scorer,
                              scorer_options=parse_kv(option, "--option") or None, limit=limit,
                              progress=not no_progress)
        if as_json:
            echo_json({k: v for k, v in result.items() if k != "summary_md"})
            return
        if dry_run:
            _print_plan(result)
            return
        gen, reused, done = (sum(s[k] for s in result["cells"].values()) for k in ("generated", "reused", "already_done"))
        typer.echo(f"{len(result['cells'])} cells: {gen} images generated, {reused} reused from the cache, {done} already "
                   f"in the cell directories, in {result['seconds']:.1f}s -> {result['out']}")
        if result.get("summary_md"):
            typer.echo("\n" + result["summary_md"])
        for path in result.get("tables", []) + result.get("charts", []):
            typer.echo(f"  wrote {path}")
        if result.get("note"):
            typer.echo(result["note"])
