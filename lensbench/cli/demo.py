"""`lensbench demo`: the embedded default — tiny local models on CPU, no network, the whole pipeline:
generate (two sizes) → score (tiny GenEval detector + tiny CLIP, real OCR) → speed → report. A thin wrapper
over `lensbench.demo.run_demo` (the runs it makes are listed in `lensbench.demo.DEMO_RUNS`)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Where to write the demo runs and report."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
    ) -> None:
        """Run the whole pipeline on tiny random models on CPU (no download): generate, score, speed, report."""
        import os

        from lensbench.demo import run_demo

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        result = run_demo(out, progress=not no_progress)
        for note in result.get("notes", []):
            typer.echo(note)
        for name, s in result["runs"].items():
            typer.echo(f"generate {name}: {s['generated']} new, {s['skipped']} reused -> {s['run_dir']}")
        for key, scored in result["scores"].items():
            heads = [m for m in (scored["results"] or {}).get("metrics", []) if m.get("category") is None]
            shown = ", ".join(f"{m['metric']}={m['value']:.3f}" for m in heads[:3] if m.get("value") is not None)
            typer.echo(f"score {key}: {shown}")
        sp = result.get("speed")
        if sp:
            typer.echo(f"speed {sp['model']}: {sp['configurations']} configurations "
                       f"{'reused' if sp['reused'] else 'measured'} -> {sp['run_dir']}")
        report = Path(out) / "report"
        typer.echo(f"report: {len(result['report'])} files in {report} (start with {report / 'README.md'})")
        typer.echo(
            "\nThe tiny models have RANDOM weights: their images are noise and every quality number above is "
            "meaningless;\nthe demo proves the plumbing. For real numbers see reports/published/ (published results "
            "with sources)\nand run e.g. `lensbench generate --model lens-turbo --suite geneval --out runs/lt` on a GPU."
        )
