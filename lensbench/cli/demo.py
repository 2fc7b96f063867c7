"""`lensbench demo`: the embedded default — tiny local model, CPU, no network."""

from __future__ import annotations

from pathlib import Path

import typer

from lensbench.errors import UserError


def run_demo(out: Path, *, progress: bool = True) -> dict:
    """Build the tiny model, generate the demo suite at two resolutions. Returns what was made."""
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate

    runs = {}
    for h, w in ((64, 64), (64, 128)):
        cfg = RunConfig(model="tiny", suite="demo", out=str(out / f"tiny-{h}x{w}"), height=h, width=w,
                        device="cpu", batch_size=2, progress=progress)
        runs[f"{h}x{w}"] = run_generate(cfg)
    return {"out": str(out), "runs": runs}


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Where to write the demo runs."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    ) -> None:
        """Run the whole pipeline on a tiny random model on CPU (no download): a smoke test and a tour."""
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        result = run_demo(out, progress=not no_progress)
        for res, s in result["runs"].items():
            typer.echo(f"{res}: {s['generated']} images generated, {s['skipped']} reused -> {s['run_dir']}")
        typer.echo(
            "\nThe tiny model has random weights: its images are noise and any score it gets is meaningless.\n"
            "Next: `lensbench models` to see real models; "
            "`lensbench generate --model lens-turbo --suite geneval -S metadata=PATH --out runs/lt` on a GPU."
        )
