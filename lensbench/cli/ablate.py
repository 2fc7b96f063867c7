"""`lensbench ablate GRID`: a thin wrapper over lensbench.runners.ablate.run_ablation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lensbench.cli.common import echo_json, parse_kv
from lensbench.cli.options import SpeedRun
from lensbench.cli.output import should_print
from lensbench.util.table import align

EPILOG = """Examples:

  lensbench ablate examples/ablations/tiny.toml -S metadata=evaluation_metadata.jsonl --out runs/abl-tiny

  lensbench ablate examples/ablations/lens_steps_cfg.toml --dry-run

  lensbench ablate examples/ablations/tiny.toml -S metadata=evaluation_metadata.jsonl --chart-style slides

  lensbench ablate examples/ablations/language_sweep.toml -S metadata=evaluation_metadata.jsonl -O device=cuda
"""


def _estimates(plan: dict, speed_run: Optional[Path]) -> list[dict]:
    """Per cell: the GPU-time estimate of its images still to generate (lensbench.speed.estimate)."""
    from lensbench.speed.estimate import estimate_seconds
    from lensbench.util.sizes import parse_size

    out = []
    for r in plan["cells"]:
        height, width = parse_size(r["size"], "size")
        out.append(estimate_seconds(r["model"], height=height, width=width, steps=int(r["steps"]),
                                    images=int(r["to_generate"]), speed_run=speed_run))
    return out


def _print_plan(plan: dict, speed_run: Optional[Path] = None) -> None:
    from lensbench.speed.estimate import format_estimate

    est = _estimates(plan, speed_run)
    typer.echo(f"ablation {plan['grid']} -> {plan['out']} (image cache: {plan['cache'] or 'off'})")
    header = ("cell", "model", "size", "steps", "guidance", "rewriter", "planned", "done", "cached", "to generate",
              "est. time")
    rows = [(r["cell"] + (" *" if r["control"] else ""), r["model"], r["size"], str(r["steps"]), f"{r['guidance']:g}",
             str(r["rewriter"]), str(r["planned"]), str(r["done"]), str(r["cached"]), str(r["to_generate"]),
             "?" if e["seconds"] is None else f"{e['seconds']:.0f} s")
            for r, e in zip(plan["cells"], est)]
    for line in align([header, *rows], rule=False):
        typer.echo(line)
    t = plan["totals"]
    typer.echo(f"{len(rows)} cells (* = control): {t['planned']} images planned, {t['done']} done in the cell "
               f"directories, {t['cached']} reusable from the cache, {t['to_generate']} to generate")
    known = [e for e in est if e["seconds"] is not None]
    if known:
        from lensbench.speed.estimate import format_duration

        bases = " | ".join(dict.fromkeys(e["basis"] for e in known))
        scaled = "; some cells scaled in steps/size (rough)" if any(e["scaled"] for e in known) else ""
        missing = f"; {len(est) - len(known)} cell(s) without a basis" if len(known) < len(est) else ""
        typer.echo(f"estimated GPU time, all cells: {format_duration(sum(e['seconds'] for e in known))} "
                   f"(basis: {bases}{scaled}){missing}")
    elif est:
        typer.echo(format_estimate(est[0]))


def register(app: typer.Typer) -> None:
    @app.command("ablate", epilog=EPILOG)
    def ablate(
        grid: Path = typer.Argument(..., help="Ablation grid file (TOML), e.g. examples/ablations/tiny.toml."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: runs/ablations/<grid name>)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the expanded cells and how much is cached, then exit."),
        suite_option: Optional[list[str]] = typer.Option(None, "--suite-option", "-S", help="Suite option KEY=VALUE for every cell (e.g. metadata=PATH)."),
        option: Optional[list[str]] = typer.Option(None, "--option", "-O", help="Scorer option KEY=VALUE (added to the grid's)."),
        scorer: Optional[str] = typer.Option(None, "--scorer", help="Score with this scorer instead of the grid's."),
        cache: Optional[Path] = typer.Option(None, "--cache", help="Image cache directory (default: $LENSBENCH_CACHE/images)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse or add images across cells and runs."),
        no_score: bool = typer.Option(False, "--no-score", help="Generate only."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N prompts of every cell (a quick look)."),
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow code shipped with weights in every cell (a grid file cannot allow it)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result (or plan) as JSON."),
        speed_run: SpeedRun = None,
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
        chart_style: Optional[str] = typer.Option(None, "--chart-style", help="paper (7 in wide, print fonts) | slides (default: $LENSBENCH_CHART_STYLE, else paper)."),
    ) -> None:
        """Run an ablation grid: one run per cell, shared image cache, scores, paired deltas vs the control, charts."""
        from lensbench.runners.ablate import run_ablation

        result = run_ablation(grid, out, dry_run=dry_run, suite_options=parse_kv(suite_option, "--suite-option") or None,
                              cache_dir=cache, use_cache=False if no_cache else None, score=not no_score, scorer=scorer,
                              scorer_options=parse_kv(option, "--option") or None, limit=limit,
                              progress=not no_progress, trust_remote_code=trust_remote_code, chart_style=chart_style)
        if as_json:
            if dry_run:
                result = {**result, "gpu_time_estimates": _estimates(result, speed_run)}
            echo_json({k: v for k, v in result.items() if k != "summary_md"})
            return
        if dry_run:
            _print_plan(result, speed_run)
            return
        if not should_print():
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
